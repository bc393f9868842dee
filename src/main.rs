// Runs before Rust's runtime, which would otherwise fill closed standard
// descriptors with inheritable `/dev/null`s first (see `stdfds`).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static GUARD_STANDARD_FDS: extern "C" fn() = memsample::stdfds::guard_standard_fds;

fn main() {
    memsample::main_entry()
}
