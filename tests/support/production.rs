//! Blocks of envoy/production.yaml, cut out between its `# >>> platform:NAME` /
//! `# <<< platform:NAME` markers, so tests run the production text in the demo bootstrap.

pub fn production_yaml() -> String {
    std::fs::read_to_string(super::envoy::repo_root().join("envoy/production.yaml"))
        .expect("read envoy/production.yaml")
}

/// The lines between the markers, dedented to column 0.
pub fn fragment(yaml: &str, name: &str) -> String {
    let begin = format!("# >>> platform:{name}");
    let end = format!("# <<< platform:{name}");
    let lines: Vec<&str> = yaml
        .lines()
        .skip_while(|l| l.trim() != begin)
        .skip(1)
        .take_while(|l| l.trim() != end)
        .collect();
    assert!(!lines.is_empty(), "production.yaml has no block {name}");
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}\n")
            }
        })
        .collect()
}
