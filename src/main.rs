// Runs before Rust's runtime, which would otherwise fill closed standard
// descriptors with inheritable `/dev/null`s first (see `sink::stdfds`).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static GUARD_STANDARD_FDS: extern "C" fn() = memsample::sink::stdfds::guard_standard_fds;

// Before the runtime sets SIGPIPE ignored: whether the caller had (see `sink::stdfds`).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static NOTE_INHERITED_SIGPIPE: extern "C" fn() = memsample::sink::stdfds::note_inherited_sigpipe;

fn main() {
    memsample::main_entry()
}
