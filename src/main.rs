//! The `wizard` binary: everything lives in the library; this only sets the exit code.

fn main() {
    let code = wizard::cli::main();
    wizard::cli::flush_logs();
    std::process::exit(code);
}
