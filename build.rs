//! Lays out memsample's code for a small RSS (docs/performance.md,
//! "memsample's own memory"): the linker script `link/hot-text.ld`, written by
//! `scripts/hot-text.sh`, puts the functions a recording runs together before
//! the rest of the code. The kernel maps a binary's code in blocks of 64 KiB
//! or more around each page that runs, so without it the code of `report`,
//! `plot`, publishing and clap's help, interleaved with the code that runs,
//! is mapped too.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/hot-text.ld");
    println!("cargo:rerun-if-env-changed=MEMSAMPLE_HOT_TEXT");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let arg = hot_text_link_arg();
    if let Some(arg) = &arg {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    // For the test that the binary has the layout when it was asked for
    // (tests/it/hot_text.rs).
    let applied = if arg.is_some() { "1" } else { "0" };
    println!("cargo:rustc-env=MEMSAMPLE_HOT_TEXT_APPLIED={applied}");
}

/// `-Wl,-T,PATH` when the layout can be applied: a Linux target, a linker
/// that takes a script of `INSERT` commands (GNU ld and LLD do; mold and gold
/// do not), and not turned off with `MEMSAMPLE_HOT_TEXT=0`. The layout only
/// moves code: without it memsample works the same, with a larger RSS.
fn hot_text_link_arg() -> Option<String> {
    if env::var("CARGO_CFG_TARGET_OS").ok()? != "linux" {
        return None;
    }
    if env::var_os("MEMSAMPLE_HOT_TEXT").is_some_and(|v| v == "0") {
        return None;
    }
    let target = env::var("TARGET").ok()?.to_uppercase().replace('-', "_");
    let linker_settings = [
        env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default(),
        env::var(format!("CARGO_TARGET_{target}_LINKER")).unwrap_or_default(),
        env::var("RUSTC_LINKER").unwrap_or_default(),
    ];
    let other_linker = ["mold", "gold"];
    if linker_settings
        .iter()
        .any(|s| other_linker.iter().any(|l| s.contains(l)))
    {
        return None;
    }
    let script = Path::new(&env::var_os("CARGO_MANIFEST_DIR")?).join("link/hot-text.ld");
    let script = script.to_str()?;
    // `-Wl,` splits its argument at commas.
    if !Path::new(script).is_file() || script.contains(',') {
        return None;
    }
    Some(format!("-Wl,-T,{script}"))
}
