//! The demo bootstrap with the wasm filter's configuration served by extension config discovery
//! (ECDS) from a file, and pushes to that file the way a control plane's file sink makes them:
//! written aside, then renamed over the watched path (Envoy reloads on the move).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::envoy::{render_bootstrap, wasm_path, EnvoyOptions};
use super::Mocks;

/// The filter's name: the HTTP filter, its ECDS resource and its stats
/// (`extension_config_discovery.http_filter.<name>.*`).
pub const FILTER: &str = "cognigy_enrich";
/// Stand-in for the plugin configuration while the template is cut out of the bootstrap.
const CONFIG_MARK: &str = "{\"deadlineMs\": 4321}";

pub struct Ecds {
    /// The bootstrap to start Envoy with ([`EnvoyOptions::bootstrap`]).
    pub bootstrap: String,
    /// The file Envoy watches.
    pub path: PathBuf,
    /// The extension config with [`CONFIG_MARK`] and the built `.wasm` in it.
    template: String,
    pushes: AtomicU32,
}

/// Extension config stat `stat` of the filter, e.g. `config_reload`, `config_fail`.
pub fn stat_name(stat: &str) -> String {
    format!("extension_config_discovery.http_filter.{FILTER}.{stat}")
}

impl Ecds {
    /// The demo bootstrap re-pointed at `mocks` (as [`render_bootstrap`] does) with its
    /// `cognigy_enrich` filter replaced by a `config_discovery` entry reading `dir/ecds.yaml`;
    /// the same filter configuration, as an extension config, is what [`Ecds::resource`]
    /// writes. Push a first configuration before Envoy starts: the listener waits for it.
    pub fn new(mocks: &Mocks, dir: &Path) -> Ecds {
        let rendered = render_bootstrap(
            mocks,
            &EnvoyOptions {
                plugin_config: CONFIG_MARK.to_owned(),
                ..EnvoyOptions::default()
            },
        );
        let lines: Vec<&str> = rendered.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.trim() == format!("- name: {FILTER}"))
            .expect("the bootstrap has the cognigy_enrich filter");
        let end = start
            + lines[start..]
                .iter()
                .position(|l| l.trim() == "- name: envoy.filters.http.router")
                .expect("the router follows the filter");
        let indent = lines[start].len() - lines[start].trim_start().len();
        let path = dir.join("ecds.yaml");
        let pad = " ".repeat(indent);
        let discovery = format!(
            "{pad}- name: {FILTER}\n\
             {pad}  config_discovery:\n\
             {pad}    config_source:\n\
             {pad}      path_config_source: {{ path: {} }}\n\
             {pad}      resource_api_version: V3\n\
             {pad}    type_urls: [\"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm\"]",
            path.display()
        );
        let mut bootstrap: Vec<String> = lines[..start].iter().map(|l| l.to_string()).collect();
        bootstrap.push(discovery);
        bootstrap.extend(lines[end..].iter().map(|l| l.to_string()));
        // The filter's `typed_config` block, moved from under the filter to under the resource.
        let cut = indent + 2;
        let mut template = format!(
            "resources:\n- \"@type\": type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig\n  name: {FILTER}\n"
        );
        for l in &lines[start + 1..end] {
            let l = if l.len() >= cut {
                &l[cut..]
            } else {
                l.trim_start()
            };
            template.push_str("  ");
            template.push_str(l);
            template.push('\n');
        }
        assert!(template.contains(CONFIG_MARK) && template.contains("typed_config:"));
        // A file-based subscription needs a node identity, as any xDS one does.
        Ecds {
            bootstrap: "node: { id: cognigy-enrich, cluster: gateway }\n".to_owned()
                + &bootstrap.join("\n")
                + "\n",
            path,
            template,
            pushes: AtomicU32::new(0),
        }
    }

    /// The extension config resource with `plugin_config` (one line of JSON) and `wasm`.
    pub fn resource(&self, plugin_config: &str, wasm: &Path) -> String {
        self.template.replace(CONFIG_MARK, plugin_config).replace(
            &wasm_path().display().to_string(),
            &wasm.display().to_string(),
        )
    }

    /// Atomically replaces the watched file with `plugin_config` running in `wasm`.
    pub fn push(&self, plugin_config: &str, wasm: &Path) {
        let n = self.pushes.fetch_add(1, Ordering::SeqCst);
        let aside = self.path.with_file_name(format!(".ecds-{n}.yaml"));
        std::fs::write(&aside, self.resource(plugin_config, wasm)).expect("write ECDS resource");
        std::fs::rename(&aside, &self.path).expect("rename ECDS resource into place");
    }
}
