//! Fault-injection points for the test suite. Compiled only into builds
//! with debug assertions (the ones `cargo test` makes); in a release build
//! [`hit`] is empty. `NEWSWATCH_FAULT=point=detail[,point=detail…]` makes
//! [`hit`] panic at `point` when its detail contains `detail` (an empty
//! detail matches every call).

/// Panics here when `NEWSWATCH_FAULT` names `point` with a detail that
/// `detail` contains (debug builds only).
#[cfg(debug_assertions)]
pub(crate) fn hit(point: &str, detail: &str) {
    static SPEC: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    let spec = SPEC.get_or_init(|| {
        std::env::var("NEWSWATCH_FAULT")
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (a, b) = p.split_once('=').unwrap_or((p, ""));
                (a.to_string(), b.to_string())
            })
            .collect()
    });
    if spec
        .iter()
        .any(|(p, d)| p == point && detail.contains(d.as_str()))
    {
        panic!("injected fault at {point} ({detail})");
    }
}

/// Release builds have no fault points.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn hit(_point: &str, _detail: &str) {}
