//! Whatever a user (or a repository they check out) puts in a policy, plan, vendor, targets or
//! waivers file: the parsers answer with a value or a located error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let _ = vetcrypt::policy::Policy::parse("fuzz.toml", src);
    let _ = vetcrypt::policy::waiver::parse("waivers.toml", src);
    let _ = vetcrypt::plan::parse_targets(Path::new("targets.txt"), src, None);
    if let Ok(plan) = vetcrypt::plan::parse_plan(Path::new("plan.toml"), src) {
        let _ = vetcrypt::claims::check(&plan.claims);
    }
});
