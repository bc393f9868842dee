fn main() {
    memsample::main_entry()
}
