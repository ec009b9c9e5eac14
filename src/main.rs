//! The `wizard` binary: everything lives in the library; this only sets the exit code.

fn main() {
    let code = wizard::cli::main();
    wizard::logging::flush_logs();
    std::process::exit(code);
}
