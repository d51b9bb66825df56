//! The `honeytoken` command.

// glibc's malloc took about a fifth of `serve`'s CPU time on the hit path
// (perf, see BENCHMARKS.md); mimalloc's thread-local free lists do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    std::process::exit(honeytoken::cli::main().await);
}
