fn main() {
    let cli = opsdeck::cli::parse();
    std::process::exit(opsdeck::cli::dispatch(cli));
}
