//! The code layout for a small RSS (docs/performance.md, "memsample's own
//! memory"): when build.rs passed `link/hot-text.ld` to the linker, the
//! binary has the functions a recording runs in a section of their own,
//! `.text.hot`, before the rest of the code.

use std::fs;

/// The size and address of each named section of a 64-bit little-endian ELF
/// file, read from its section headers.
fn sections(elf: &[u8]) -> Vec<(String, u64, u64)> {
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap());
    assert_eq!(
        &elf[..6],
        b"\x7fELF\x02\x01",
        "a 64-bit little-endian ELF file"
    );
    let table = u64_at(0x28) as usize;
    let (entry, count, names) = (u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let names_at = u64_at(table + names * entry + 0x18) as usize;
    (0..count)
        .map(|i| {
            let header = table + i * entry;
            let name = &elf[names_at + u32_at(header)..];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
            let name = String::from_utf8_lossy(name).into_owned();
            (name, u64_at(header + 0x10), u64_at(header + 0x20))
        })
        .collect()
}

#[test]
fn the_code_a_recording_runs_comes_first_when_the_layout_was_applied() {
    let elf = fs::read(env!("CARGO_BIN_EXE_memsample")).unwrap();
    let sections = sections(&elf);
    let find = |wanted: &str| sections.iter().find(|(name, ..)| name == wanted).cloned();
    let text = find(".text").expect("a .text section");
    if env!("MEMSAMPLE_HOT_TEXT_APPLIED") == "0" {
        assert!(
            find(".text.hot").is_none(),
            "no layout asked for, none made"
        );
        return;
    }
    let (_, hot_address, hot_size) = find(".text.hot").expect("a .text.hot section");
    // Its patterns matched functions (a stale list matches none), and it sits
    // just before the rest of the code.
    assert!(hot_size > 64 * 1024, ".text.hot holds {hot_size} bytes");
    assert!(
        hot_address < text.1,
        ".text.hot at {hot_address:#x}, .text at {:#x}",
        text.1
    );
    assert!(text.1 - (hot_address + hot_size) < 4096);
}
