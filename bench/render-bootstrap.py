#!/usr/bin/env python3
"""Renders the benchmark bootstrap from the demo one (envoy/envoy.yaml), so the filter and its
clusters are benchmarked exactly as shipped. Changes, each asserted to apply:

- listener, admin and cluster ports moved to the benchmark's (a running `make run` demo is left
  alone);
- the wasm loaded by absolute path;
- the plugin configuration replaced by the benchmark's (PLUGIN_CONFIG, one line of JSON; by
  default `{"deadlineMs": 4500}`: every request calls all three services, no response cache);
- a `/floor` direct_response route (small JSON) added to the gateway listener, in front of the
  filter chain's other routes: the cost of the same HCM with the wasm filter passing through;
- a second listener `floor` with only the router and the same `/floor` direct_response: the bare
  Envoy floor, same process, same worker; and, on it, `/proxy`, routed to the customer-profile
  mock (path rewritten to one customer): the cost of one upstream round trip through Envoy
  without the filter, to put the enrich figure (three upstream calls) in proportion;
- with NOMASK_PORT, a copy of the gateway listener there (`gateway_nomask`) whose filter has the
  same configuration but the privacy rules off (`maskFields: []`, `maskPatterns: false`): the
  cost of dropping, masking and scanning, measured against the gateway in the same process;
- with BENCH_MINIMAL_PORT (and BENCH_MINIMAL_WASM, BENCH_MINIMAL_CONFIG in the environment), a
  copy of the gateway listener there (`minimal`) running bench/minimal-filter in a VM of its own:
  the limit row; and with BENCH_MINIMAL_LISTENERS ({"NAME": [PORT, "CONFIG"], ...}), one more
  copy per entry running the minimal filter with that configuration (bench/host-call-cost.sh:
  the minimal filter with extra host calls of one kind);
- with BENCH_COUNT_PORT (and BENCH_COUNT_WASM), a copy (`gateway_count`) running the product's
  host-call counting build (feature count-host-calls) in a VM of its own, same configuration;
- with BENCH_CONFIG_LISTENERS ({"NAME": [PORT, CONFIG], ...}), one copy per entry with that
  plugin configuration: a feature's cost, each off against all on, in the same process;
- with BENCH_VARIANT_LISTENERS ("NAME=PORT=WASM ..."), one such copy per word: other builds of
  the product (bench/build-variant.sh), measured in the same process.

usage: render-bootstrap.py OUT WASM LISTENER_PORT FLOOR_PORT ADMIN_PORT TOKEN PROFILE ORDERS CRM
       [PLUGIN_CONFIG [NOMASK_PORT]]
"""

import json
import os
import pathlib
import re
import sys

FLOOR_BODY = '{\\"status\\":\\"ok\\",\\"floor\\":true}'

FLOOR_ROUTE = f"""              - match: {{ prefix: "/floor" }}
                direct_response:
                  status: 200
                  body: {{ inline_string: "{FLOOR_BODY}" }}
                response_headers_to_add:
                - header: {{ key: content-type, value: application/json }}
"""

FLOOR_LISTENER = f"""  - name: floor
    address:
      socket_address: {{ address: 127.0.0.1, port_value: {{floor_port}} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: floor
          generate_request_id: true
          route_config:
            name: floor
            virtual_hosts:
            - name: floor
              domains: ["*"]
              routes:
{FLOOR_ROUTE}              - match: {{ prefix: "/proxy" }}
                route:
                  cluster: customer_profile
                  prefix_rewrite: "/api/v1/customers/CUST-992847"
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router

  clusters:
"""


def main() -> None:
    if len(sys.argv) not in (10, 11, 12):
        sys.exit(__doc__)
    out, wasm = sys.argv[1], sys.argv[2]
    listener, floor, admin, token, profile, orders, crm = sys.argv[3:10]
    plugin_config = sys.argv[10] if len(sys.argv) >= 11 else '{"deadlineMs": 4500}'
    nomask_port = sys.argv[11] if len(sys.argv) == 12 else None
    json.loads(plugin_config)  # refuse a typo here rather than in Envoy's log
    if "\n" in plugin_config:
        sys.exit("render-bootstrap: PLUGIN_CONFIG must be one line")
    root = pathlib.Path(__file__).resolve().parent.parent
    yaml = (root / "envoy" / "envoy.yaml").read_text()

    def replace(old: str, new: str) -> None:
        nonlocal yaml
        if yaml.count(old) != 1:
            sys.exit(f"render-bootstrap: envoy/envoy.yaml has {yaml.count(old)} of {old!r}, expected 1")
        yaml = yaml.replace(old, new)

    replace("port_value: 10000", f"port_value: {listener}")
    replace("port_value: 9901", f"port_value: {admin}")
    replace("port_value: 9001", f"port_value: {token}")
    replace("port_value: 9002", f"port_value: {profile}")
    replace("port_value: 9003", f"port_value: {orders}")
    replace("port_value: 9004", f"port_value: {crm}")
    replace(
        "filename: target/wasm32-wasip1/release/cognigy_enrich.wasm",
        f"filename: {pathlib.Path(wasm).resolve()}",
    )
    # The filter's configuration: the line after `value: |` of the cognigy_enrich filter.
    configs = re.findall(r"(?m)^( +)value: \|\n\1  (.*)$", yaml)
    if len(configs) != 1:
        sys.exit(f"render-bootstrap: expected one `value: |` plugin configuration, found {len(configs)}")
    indent, current = configs[0]
    replace(f"{indent}value: |\n{indent}  {current}\n", f"{indent}value: |\n{indent}  {plugin_config}\n")
    replace('              - match: { prefix: "/healthz" }\n',
            FLOOR_ROUTE + '              - match: { prefix: "/healthz" }\n')
    start, end = yaml.find("  - name: gateway\n"), yaml.find("\n  clusters:\n")
    if start < 0 or end < start:
        sys.exit("render-bootstrap: gateway listener not found")
    gateway = yaml[start:end + 1]

    def copy_gateway(port: str, name: str, config: str, wasm_file: str = "") -> str:
        """The gateway listener again on PORT, stat prefix and filter/VM names NAME, plugin
        configuration CONFIG, and (WASM_FILE) another module in a VM of its own."""
        copy = f"  - name: {name}\n" + gateway[len("  - name: gateway\n"):]
        edits = [
            (f"port_value: {listener} ", f"port_value: {port} "),
            ("stat_prefix: gateway\n", f"stat_prefix: {name}\n"),
            ("name: cognigy_enrich\n                root_id", f"name: {name}\n                root_id"),
            (f"  {plugin_config}\n", f"  {config}\n"),
        ]
        if wasm_file:
            edits += [
                (f"filename: {pathlib.Path(wasm).resolve()}", f"filename: {pathlib.Path(wasm_file).resolve()}"),
                ("vm_id: cognigy_enrich\n", f"vm_id: {name}\n"),
            ]
        for old, new in edits:
            if copy.count(old) != 1:
                sys.exit(f"render-bootstrap: gateway listener has {copy.count(old)} of {old!r}, expected 1")
            copy = copy.replace(old, new)
        return copy

    extra = ""
    if nomask_port:
        off = json.loads(plugin_config)
        off["privacy"] = {"maskFields": [], "maskPatterns": False}
        extra += copy_gateway(nomask_port, "gateway_nomask", json.dumps(off))
    # The limit row: the minimal filter (bench/minimal-filter) in a VM of its own. Its root_id
    # stays `cognigy_enrich`: the minimal filter ignores it.
    minimal_port = os.environ.get("BENCH_MINIMAL_PORT")
    if minimal_port:
        extra += copy_gateway(minimal_port, "minimal", os.environ["BENCH_MINIMAL_CONFIG"],
                              os.environ["BENCH_MINIMAL_WASM"])
    for name, (port, config) in json.loads(os.environ.get("BENCH_MINIMAL_LISTENERS", "{}")).items():
        extra += copy_gateway(str(port), name, config, os.environ["BENCH_MINIMAL_WASM"])
    # Other builds of the product (bench/build-variant.sh), same configuration: NAME=PORT=WASM
    # words, each a listener and VM of its own.
    for word in os.environ.get("BENCH_VARIANT_LISTENERS", "").split():
        name, port, wasm_file = word.split("=", 2)
        extra += copy_gateway(port, name, plugin_config, wasm_file)
    # The product with another configuration: {"NAME": [PORT, {configuration}], ...}.
    for name, (port, config) in json.loads(os.environ.get("BENCH_CONFIG_LISTENERS", "{}")).items():
        extra += copy_gateway(str(port), name, json.dumps(config))
    # The counting build of the product (feature count-host-calls), same configuration.
    count_port = os.environ.get("BENCH_COUNT_PORT")
    if count_port:
        extra += copy_gateway(count_port, "gateway_count", plugin_config,
                              os.environ["BENCH_COUNT_WASM"])
    replace("\n  clusters:\n", "\n" + extra + FLOOR_LISTENER.replace("{floor_port}", floor))
    header = "# GENERATED by bench/render-bootstrap.py from envoy/envoy.yaml; do not edit.\n"
    pathlib.Path(out).write_text(header + yaml)


if __name__ == "__main__":
    main()
