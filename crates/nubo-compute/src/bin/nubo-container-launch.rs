//! Stand-alone entry point of the container launcher, for tests and for
//! hosts that run the driver from another binary. `nubo container-launch`
//! is the same code reached through the main binary.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    nubo_compute::launcher_main(&args)
}
