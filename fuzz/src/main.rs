//! `fuzz TARGET`: one AFL++ binary for every target, so the instrumented tree is built and
//! linked once. `fuzz/run` drives it; without AFL it reads one input from stdin.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = swarmspec_fuzz::target(&name) else {
        eprintln!(
            "usage: fuzz TARGET, one of: {}",
            swarmspec_fuzz::TARGETS
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        );
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        target(data);
    });
}
