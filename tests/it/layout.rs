//! The shape of `src/` (docs/architecture.md): the top-level modules depend
//! on each other without a cycle, only the command line imports the command
//! line, and no function is longer than 80 lines. Read from the sources, with
//! comments and string literals blanked out so that neither counts.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Longest function allowed, signature to closing brace.
const MAX_FUNCTION_LINES: usize = 80;

/// The modules that may import `cli`: itself (`cli::app` routes).
const MAY_IMPORT_CLI: [&str; 1] = ["cli"];

#[test]
fn top_level_modules_form_a_dag() {
    let graph = graph();
    if let Some(cycle) = find_cycle(&graph) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|pair| {
                let place = &graph[&pair[0]][&pair[1]];
                format!("{} -> {} ({place})", pair[0], pair[1])
            })
            .collect();
        panic!(
            "the top-level modules of src/ have a cycle: {}\n  {}",
            cycle.join(" -> "),
            steps.join("\n  ")
        );
    }
}

#[test]
fn only_the_command_line_imports_cli() {
    let graph = graph();
    let importers: Vec<String> = graph
        .iter()
        .filter(|(module, _)| !MAY_IMPORT_CLI.contains(&module.as_str()))
        .filter_map(|(module, edges)| edges.get("cli").map(|place| format!("{module} ({place})")))
        .collect();
    assert!(
        importers.is_empty(),
        "only {MAY_IMPORT_CLI:?} may import `cli` (the command line feeds the settings, never the \
         domain); imported by: {}",
        importers.join(", ")
    );
}

#[test]
fn no_function_is_over_80_lines() {
    let mut long = Vec::new();
    for file in rust_files(&src()) {
        let code = code_only(&read(&file));
        for (name, line, lines) in functions(&code) {
            if lines > MAX_FUNCTION_LINES {
                long.push(format!("{}:{line} fn {name}: {lines} lines", shown(&file)));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines:\n  {}",
        long.join("\n  ")
    );
}

/// A test that cannot run on this machine says so in the test run's
/// summary (`#[ignore = "why; run with: ..."]`), never by printing
/// "skipped" and returning: that passes unseen.
#[test]
fn no_test_skips_itself_silently() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut silent = Vec::new();
    for file in rust_files(&tests) {
        for (index, line) in read(&file).lines().enumerate() {
            let printed =
                line.contains("eprintln!(\"skipped") || line.contains("println!(\"skipped");
            if printed && !line.contains("contains(") {
                silent.push(format!("{}:{}", shown(&file), index + 1));
            }
        }
    }
    assert!(
        silent.is_empty(),
        "tests that skip themselves silently (use #[ignore = \"why; run with: ...\"]): {}",
        silent.join(", ")
    );
}

/// The checks themselves must see what they look for.
#[test]
fn the_checks_see_edges_cycles_and_long_functions() {
    let code = code_only(
        "use crate::a::B; // crate::hidden\nuse crate::{c, d::E};\nlet s = \"crate::quoted\";\n\
         fn f() -> u8 { let c = '{'; crate::g::h(); 1 }\n",
    );
    let names: BTreeSet<String> = imports(&code).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["a", "c", "d", "g"].map(String::from).into());
    let mut graph: Graph = BTreeMap::new();
    for (from, to) in [("x", "y"), ("y", "z"), ("z", "x")] {
        graph
            .entry(from.into())
            .or_default()
            .insert(to.into(), String::new());
    }
    assert_eq!(
        find_cycle(&graph),
        Some(["x", "y", "z", "x"].map(String::from).to_vec())
    );
    let body = "fn long() {\n".to_string() + &"    x();\n".repeat(90) + "}\n";
    assert_eq!(functions(&code_only(&body)), [("long".into(), 1, 92)]);
}

/// Top-level module -> the modules it imports, each with where first seen.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn graph() -> Graph {
    let src = src();
    let mut graph: Graph = BTreeMap::new();
    for file in rust_files(&src) {
        let Some(module) = top_level(&src, &file) else {
            continue;
        };
        let code = code_only(&read(&file));
        let edges = graph.entry(module.clone()).or_default();
        for (target, line) in imports(&code) {
            if target != module {
                let place = format!("{}:{line}", shown(&file));
                edges.entry(target).or_insert(place);
            }
        }
    }
    assert!(
        graph.len() > 5,
        "found too few modules in {}: {graph:?}",
        src.display()
    );
    graph
}

/// The first cycle found, as `a -> b -> ... -> a`.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|edges| edges.keys()) {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

/// The top-level modules named after `crate::`, with their 1-based lines:
/// `crate::a::b`, `crate::{a, b::c}`.
fn imports(code: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (index, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or_default();
                for item in group.split(',') {
                    let name = ident(item.trim_start());
                    if !name.is_empty() {
                        found.push((name.to_string(), index + 1));
                    }
                }
            } else if !ident(rest).is_empty() {
                found.push((ident(rest).to_string(), index + 1));
            }
        }
    }
    found
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Every function with a body: its name, the line of `fn`, and its length
/// in lines from there to the closing brace.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let bytes = code.as_bytes();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = code[at..].find("fn ") {
        let start = at + offset;
        at = start + 3;
        let word_start =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let name = ident(code[at..].trim_start());
        if !word_start || name.is_empty() {
            continue;
        }
        // The body opens at the first `{` outside parentheses; a `;` first
        // means a declaration without one.
        let mut depth = 0i32;
        let mut open = None;
        for (i, c) in code[at..].char_indices() {
            match c {
                '(' | '[' | '<' => depth += 1,
                ')' | ']' | '>' if depth > 0 => depth -= 1,
                ';' if depth == 0 => break,
                '{' if depth == 0 => {
                    open = Some(at + i);
                    break;
                }
                _ => {}
            }
        }
        let Some(open) = open else { continue };
        let Some(close) = matching_brace(code, open) else {
            continue;
        };
        found.push((
            name.to_string(),
            line_of(start),
            line_of(close) - line_of(start) + 1,
        ));
    }
    found
}

fn matching_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The source with comments, string and character literals replaced by
/// spaces (line breaks kept, so that lines still count).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let end = if c == '/' && next == Some('/') {
            chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n)
        } else if c == '/' && next == Some('*') {
            block_comment_end(&chars, i)
        } else if c == '"' {
            string_end(&chars, i + 1)
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !is_ident_char(chars.get(i.wrapping_sub(1)))
        {
            raw_string_end(&chars, i + 1).unwrap_or(i + 1)
        } else if c == '\'' {
            char_literal_end(&chars, i).unwrap_or(i + 1)
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        for &c in &chars[i..end] {
            blank(&mut out, c);
        }
        i = end;
    }
    out
}

fn is_ident_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// After the opening quote: the index just past the closing one.
fn string_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// `r"..."`, `r#"..."#`: from just after the `r`.
fn raw_string_end(chars: &[char], mut i: usize) -> Option<usize> {
    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
    i += hashes;
    if chars.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    while i < chars.len() {
        if chars[i] == '"'
            && chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    Some(chars.len())
}

/// `'x'`, `'\n'`, `'\u{1b}'`; `None` for a lifetime (`'a`).
fn char_literal_end(chars: &[char], start: usize) -> Option<usize> {
    match (chars.get(start + 1), chars.get(start + 2)) {
        (Some('\\'), _) => {
            let close = chars[start + 2..].iter().position(|&c| c == '\'')?;
            Some(start + 2 + close + 1)
        }
        (Some(_), Some('\'')) => Some(start + 3),
        _ => None,
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `src/probe/tree.rs` -> `probe`; `src/units.rs` -> `units`; the crate
/// root files (`lib.rs`, `main.rs`) are no module.
fn top_level(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(name) => Some(name.to_string()),
        None => Some(first.to_string()),
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}
