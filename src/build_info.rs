//! Which build of the filter runs. Set `COGNIGY_ENRICH_VERSION` when building to stamp a build
//! (a release, a canary); without it the crate version is used. The root context logs it and
//! counts it in a metric at every configuration, so an operator sees which module a worker runs
//! after a module upgrade; it is never sent to callers (a response header would tell anyone
//! which code runs).

/// The version string of this build.
pub const VERSION: &str = match option_env!("COGNIGY_ENRICH_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

/// Longest version label kept in a metric name.
const MAX_LABEL: usize = 64;

/// `version` as one stat-name segment: ASCII letters, digits and `_` (a `.` would start a new
/// segment of Envoy's stat name, anything else may be refused by a metrics backend).
pub fn metric_label(version: &str) -> String {
    let label: String = version
        .chars()
        .take(MAX_LABEL)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if label.is_empty() {
        "unknown".to_owned()
    } else {
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn labels_are_one_stat_segment() {
        assert_eq!(metric_label("0.1.0"), "0_1_0");
        assert_eq!(metric_label("1.2.3-rc.1+upgrade"), "1_2_3_rc_1_upgrade");
        assert_eq!(metric_label(""), "unknown");
        assert_eq!(metric_label("ü.x"), "__x");
        assert_eq!(metric_label(&"9".repeat(200)).len(), MAX_LABEL);
    }
}
