{
  "targets": [
    {
      "target_name": "kpr",
      "sources": [
        "src/addon.cc",
        "src/bpf_errors.cc",
        "src/lb_maps.cc",
        "src/loader.cc",
        "src/map_layouts.cc",
        "src/map_migration.cc",
        "src/hash64.cc",
        "src/maglev.cc",
        "src/cgroup_links.cc",
        "src/udp_sock_destroy.cc",
        "src/edge_maps.cc",
        "src/edge_attach.cc",
        "src/edge_trace.cc",
        "src/flow_gc.cc",
        "src/status.cc",
        "src/attach_record.cc",
        "src/prog_test_run.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "include_dirs": ["../bpf/include"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"]
    }
  ]
}
