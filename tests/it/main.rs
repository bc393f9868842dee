//! memsample's integration tests, one binary (one link instead of one per
//! file): each module runs the real `memsample` binary against the fixture
//! program (`examples/fixture.rs`) and checks what it wrote against what the
//! kernel says. `cargo test --test it MODULE::` runs one module.

mod common;

mod attach;
mod breakdown;
mod cli;
mod compare;
mod deaths;
mod faults;
mod formats;
mod hot_text;
mod identity;
mod jobs;
mod json_summary;
mod layout;
mod limits;
mod parents;
mod phases;
mod plot;
mod properties;
mod publish;
mod record;
mod report;
mod roundtrip;
mod terminal;
mod transparency;
mod tree;
mod wholetree;
