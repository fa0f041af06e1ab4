{
  "targets": [
    {
      "target_name": "kpr",
      "sources": [
        "src/addon.cc",
        "src/js/values.cc",
        "src/js/sock_datapath.cc",
        "src/js/edge_datapath.cc",
        "src/js/edge_trace.cc",
        "src/js/flow_gc.cc",
        "src/js/maglev.cc",
        "src/js/status.cc",
        "src/js/conntrack_handover.cc",
        "src/addr_text.cc",
        "src/bpf_errors.cc",
        "src/loader.cc",
        "src/map_layouts.cc",
        "src/map_migration.cc",
        "src/percpu_counters.cc",
        "src/sock_maps.cc",
        "src/sock_attach.cc",
        "src/sock_udp_destroy.cc",
        "src/netns_thread.cc",
        "src/edge_maps.cc",
        "src/edge_attach.cc",
        "src/edge_trace.cc",
        "src/flow_gc.cc",
        "src/hash64.cc",
        "src/maglev.cc",
        "src/status.cc",
        "src/attach_record.cc",
        "src/prog_test_run.cc",
        "src/ctnetlink.cc",
        "src/conntrack_handover.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "include_dirs": ["src", "../bpf/include"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"]
    }
  ]
}
