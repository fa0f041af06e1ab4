// The edge LB as JavaScript sees it: openEdgeDatapath() loads bpf/xdp_lb.o and
// bpf/tc_dsr.o and returns their maps and programs; openPinnedEdgeMaps()
// opens the pinned maps alone and returns their readers only.
#include <bpf/libbpf.h>

#include "edge_attach.h"
#include "edge_maps.h"
#include "js/objects.h"
#include "js/values.h"
#include "prog_test_run.h"

namespace kpr::js {
namespace {

// One of two names -> its flag (zero -> 0).
uint16_t Choice(const Napi::Object& o, const char* key, const char* zero, const char* one, uint16_t flag) {
  std::string v = Str(o, key);
  if (v == zero) return 0;
  if (v == one) return flag;
  throw BpfError(std::string("'") + key + "' must be '" + zero + "' or '" + one + "', got '" + v + "'");
}

// scope: absent or 'external' (XDP's view), or 'pod' (the per-packet path's).
EdgeFrontendKey ToEdgeFrontendKey(const Napi::Object& o) {
  const Napi::Value scope = o.Get("scope");
  const std::string s = scope.IsUndefined() ? "external" : scope.ToString().Utf8Value();
  if (s != "external" && s != "pod") throw BpfError("'scope' must be 'external' or 'pod', got '" + s + "'");
  return EdgeFrontendKey{ToFrontend(o), s == "pod"};
}

EdgeFrontend ToEdgeFrontend(const Napi::Value& v) {
  Napi::Object o = ObjectArg(v);
  uint32_t count = U32(o, "count"), timeout = U32(o, "affinityTimeout");
  if (count > 65535) throw BpfError("'count' must fit 16 bits");
  uint16_t flags = Choice(o, "mode", "dsr", "snat", KPR_EDGE_F_SNAT) |
                   Choice(o, "algorithm", "maglev", "random", KPR_EDGE_F_RANDOM) |
                   Choice(o, "noBackend", "reject", "drop", KPR_EDGE_F_DROP_NO_BACKEND) |
                   (o.Get("sourceRanges").ToBoolean() ? KPR_EDGE_F_SOURCE_RANGES : 0) |
                   (timeout > 0 ? KPR_EDGE_F_AFFINITY : 0);
  return EdgeFrontend{ToEdgeFrontendKey(o), U32(o, "svcId"), static_cast<uint16_t>(count), flags, timeout};
}

// The inverse of ToEdgeFrontend.
Napi::Object EdgeFrontendObject(const Napi::Env& env, const EdgeFrontend& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("addr", f.key.fe.addr);
  o.Set("port", f.key.fe.port);
  o.Set("proto", ProtoName(f.key.fe.proto));
  if (f.key.pod) o.Set("scope", "pod");
  o.Set("svcId", f.svc_id);
  o.Set("count", f.count);
  o.Set("affinityTimeout", f.affinity_timeout);
  o.Set("sourceRanges", (f.flags & KPR_EDGE_F_SOURCE_RANGES) != 0);
  o.Set("mode", (f.flags & KPR_EDGE_F_SNAT) ? "snat" : "dsr");
  o.Set("algorithm", (f.flags & KPR_EDGE_F_RANDOM) ? "random" : "maglev");
  o.Set("noBackend", (f.flags & KPR_EDGE_F_DROP_NO_BACKEND) ? "drop" : "reject");
  return o;
}

Napi::Object EdgeBackendObject(const Napi::Env& env, const EdgeBackend& b) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", b.id);
  o.Set("addr", b.addr);
  o.Set("port", b.port);
  o.Set("svcId", b.svc_id);
  if (!b.node_addr.empty()) o.Set("nodeAddr", b.node_addr);
  return o;
}

SourceRange ToSourceRange(const Napi::Value& v) {
  Napi::Object r = ObjectArg(v);
  return SourceRange{U32(r, "svcId"), Str(r, "cidr")};
}

// The flow timeouts ({tcpEstablished, tcpSyn, tcpFin, tcpClose, udp,
// udpStream}, seconds) and snat port ranges ([{min, max}]) of setConfig.
constexpr std::pair<const char*, __u32 edge_timeouts::*> kTimeoutFields[] = {
    {"tcpEstablished", &edge_timeouts::tcp_established}, {"tcpSyn", &edge_timeouts::tcp_syn},
    {"tcpFin", &edge_timeouts::tcp_fin},                 {"tcpClose", &edge_timeouts::tcp_close},
    {"udp", &edge_timeouts::udp},                        {"udpStream", &edge_timeouts::udp_stream},
};

EdgeConfig ToEdgeConfig(const Napi::Object& c) {
  EdgeConfig cfg{OptStr(c, "nodeAddr4"), OptStr(c, "nodeAddr6"), U32(c, "hashSeed"), {}, {}};
  Napi::Object t = ObjectArg(c.Get("timeouts"));
  for (auto [name, field] : kTimeoutFields) {
    cfg.timeouts.*field = U32(t, name);
    if (cfg.timeouts.*field == 0) throw BpfError(std::string("timeout '") + name + "' must be at least 1 second");
  }
  cfg.snat_ports = MapArray<edge_port_range>(c.Get("snatPorts"), [](const Napi::Value& v) {
    Napi::Object r = ObjectArg(v);
    uint32_t min = U32(r, "min"), max = U32(r, "max");
    if (min < 1 || min > max || max > 65535) throw BpfError("a snat port range is min..max within 1..65535");
    return edge_port_range{static_cast<__u16>(min), static_cast<__u16>(max - min + 1)};
  });
  return cfg;
}

Napi::Object EdgeConfigObject(const Napi::Env& env, const EdgeSettingsRead& r) {
  Napi::Object o = Napi::Object::New(env);
  if (!r.cfg.node_addr4.empty()) o.Set("nodeAddr4", r.cfg.node_addr4);
  if (!r.cfg.node_addr6.empty()) o.Set("nodeAddr6", r.cfg.node_addr6);
  o.Set("hashSeed", r.cfg.hash_seed);
  o.Set("maglevTableSize", r.maglev_size);
  Napi::Object t = Napi::Object::New(env);
  for (auto [name, field] : kTimeoutFields) t.Set(name, r.cfg.timeouts.*field);
  o.Set("timeouts", t);
  o.Set("snatPorts", ToArray(env, r.cfg.snat_ports, [](const Napi::Env& e, const edge_port_range& p) {
          Napi::Object range = Napi::Object::New(e);
          range.Set("min", p.min);
          range.Set("max", p.min + p.count - 1);
          return range;
        }));
  return o;
}

// The namespace and ingress device of a test run ({netns, ifindex}, both optional).
TestRunOptions TestRunOptionsOf(const Napi::Value& options) {
  TestRunOptions opts;
  if (options.IsObject()) {
    Napi::Object o = options.As<Napi::Object>();
    opts.netns_path = OptStr(o, "netns");
    opts.ingress_ifindex = Given(o, "ifindex") ? U32(o, "ifindex") : 0;
  }
  return opts;
}

Napi::Object TestRunResultObject(const Napi::Env& env, const TestRunResult& r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("retval", r.retval);
  out.Set("packet", Napi::Buffer<uint8_t>::Copy(env, r.packet.data(), r.packet.size()));
  out.Set("durationNs", r.duration_ns);
  return out;
}

Napi::Object OutcomeObject(const Napi::Env& env, const AttachOutcome& a) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("mode", a.mode);
  out.Set("action", a.action);
  return out;
}

// A loaded edge LB (its objects own the map fds), or its pinned maps alone
// (opened by path; ours to close). The pinned maps are the same C++ class
// behind a second JavaScript class, EdgeMaps, that has the readers only.
class EdgeDatapath : public Napi::ObjectWrap<EdgeDatapath> {
 public:
  static Napi::Function DefineReaders(Napi::Env env) { return DefineClass(env, "EdgeMaps", Readers()); }

  static Napi::Function Define(Napi::Env env) {
    auto methods = Readers();
    methods.insert(methods.end(), {
                                      InstanceMethod("setConfig", &EdgeDatapath::SetConfig),
                                      InstanceMethod("updateFrontends", &EdgeDatapath::UpdateFrontends),
                                      InstanceMethod("deleteFrontends", &EdgeDatapath::DeleteFrontends),
                                      InstanceMethod("updateBackends", &EdgeDatapath::UpdateBackends),
                                      InstanceMethod("deleteBackends", &EdgeDatapath::DeleteBackends),
                                      InstanceMethod("setMaglevTable", &EdgeDatapath::SetMaglevTableJs),
                                      InstanceMethod("updateSourceRanges", &EdgeDatapath::UpdateSourceRangesJs),
                                      InstanceMethod("deleteSourceRanges", &EdgeDatapath::DeleteSourceRangesJs),
                                      InstanceMethod("deleteMaglevTables", &EdgeDatapath::DeleteMaglevTablesJs),
                                      InstanceMethod("progTestRun", &EdgeDatapath::ProgTestRunJs),
                                      InstanceMethod("progTestRunBatch", &EdgeDatapath::ProgTestRunBatchJs),
                                      InstanceMethod("migrations", &EdgeDatapath::MigrationsJs),
                                      InstanceMethod("settleMigratedMaps", &EdgeDatapath::SettleMigratedMaps),
                                      InstanceMethod("attachXdp", &EdgeDatapath::AttachXdpJs),
                                      InstanceMethod("attachTc", &EdgeDatapath::AttachTcJs),
                                      InstanceMethod("attachPodTc", &EdgeDatapath::AttachPodTcJs),
                                      InstanceMethod("programIds", &EdgeDatapath::ProgramIdsJs),
                                      InstanceMethod("verifiedInsns", &EdgeDatapath::VerifiedInsnsJs),
                                  });
    return DefineClass(env, "EdgeDatapath", methods);
  }

  explicit EdgeDatapath(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EdgeDatapath>(info) {}
  ~EdgeDatapath() override { Close(); }

  void Adopt(EdgeObject loaded) { edge_ = std::move(loaded); }
  void Adopt(EdgeMapFds fds) { edge_.maps = fds; }

 private:
  // What both a loaded edge LB and its pinned maps can answer.
  static std::vector<PropertyDescriptor> Readers() {
    return {
        InstanceMethod("dumpFrontends", &EdgeDatapath::DumpFrontends),
        InstanceMethod("dumpBackends", &EdgeDatapath::DumpBackends),
        InstanceMethod("dumpSourceRanges", &EdgeDatapath::DumpSourceRangesJs),
        InstanceMethod("dumpMaglevTableIds", &EdgeDatapath::DumpMaglevTableIdsJs),
        InstanceMethod("readMaglevTable", &EdgeDatapath::ReadMaglevTableJs),
        InstanceMethod("dumpFlows", &EdgeDatapath::DumpFlows),
        InstanceMethod("readConfig", &EdgeDatapath::ReadConfig),
        InstanceMethod("readDrops", &EdgeDatapath::ReadDrops),
        InstanceMethod("readFlowMisses", &EdgeDatapath::ReadFlowMisses),
        InstanceMethod("readStats", &EdgeDatapath::ReadStats),
        InstanceMethod("close", &EdgeDatapath::CloseJs),
    };
  }

  void Close() {
    if (edge_.obj)
      bpf_object__close(edge_.obj);  // closes its map fds too
    else
      CloseEdgeMaps(edge_.maps);
    if (edge_.tc_obj) bpf_object__close(edge_.tc_obj);
    edge_ = EdgeObject{};
  }

  const EdgeMapFds& Maps() const {
    if (edge_.maps.frontends < 0) throw BpfError("edge datapath is closed");
    return edge_.maps;
  }

  Napi::Value DumpFrontends(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return ToArray(env, DumpEdgeFrontends(Maps().frontends), EdgeFrontendObject);
    });
  }

  Napi::Value DumpBackends(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return ToArray(env, DumpEdgeBackends(Maps().backends), EdgeBackendObject);
    });
  }

  Napi::Value DumpSourceRangesJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return ToArray(env, DumpSourceRanges(Maps().source_ranges), [](const Napi::Env& e, const SourceRange& r) {
        Napi::Object o = Napi::Object::New(e);
        o.Set("svcId", r.svc_id);
        o.Set("cidr", r.cidr);
        return o;
      });
    });
  }

  Napi::Value DumpMaglevTableIdsJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value { return NumberArray(env, DumpMaglevTableIds(Maps().maglev)); });
  }

  Napi::Value ReadMaglevTableJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      if (!info[0].IsNumber()) throw BpfError("readMaglevTable(svcId) takes a number");
      return NumberArray(env, ReadMaglevTable(Maps().maglev, info[0].As<Napi::Number>().Uint32Value()));
    });
  }

  Napi::Value DumpFlows(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return ToArray(env, DumpEdgeFlows(Maps()), [](const Napi::Env& e, const EdgeFlow& f) {
        Napi::Object o = Napi::Object::New(e);
        o.Set("client", f.client);
        o.Set("clientPort", f.client_port);
        o.Set("proto", ProtoName(f.proto));
        o.Set("svcId", f.svc_id);
        o.Set("backendId", f.backend_id);
        o.Set("state", f.state);
        o.Set("idleSeconds", f.idle_seconds);
        return o;
      });
    });
  }

  Napi::Value ReadConfig(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value { return EdgeConfigObject(env, ReadEdgeConfig(Maps().config)); });
  }

  Napi::Value ReadDrops(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return NumberArray(env, ReadEdgeDrops(Maps().drops));
    });
  }

  Napi::Value ReadFlowMisses(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return Napi::Number::New(env, static_cast<double>(kpr::ReadFlowMisses(Maps().flow_misses)));
    });
  }

  Napi::Value ReadStats(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return ToArray(env, ReadEdgeStats(Maps().stats), [](const Napi::Env& e, const EdgeStats& st) {
        Napi::Object o = Napi::Object::New(e);
        o.Set("svcId", st.svc_id);
        o.Set("packets", static_cast<double>(st.packets));
        o.Set("bytes", static_cast<double>(st.bytes));
        return o;
      });
    });
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Close();
    return info.Env().Undefined();
  }

  Napi::Value SetConfig(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      WriteEdgeConfig(Maps().config, ToEdgeConfig(ObjectArg(info[0])), edge_.maglev_size);
      return env.Undefined();
    });
  }

  Napi::Value UpdateFrontends(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      UpdateEdgeFrontends(Maps().frontends, MapArray<EdgeFrontend>(info[0], ToEdgeFrontend));
      return env.Undefined();
    });
  }

  Napi::Value DeleteFrontends(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      DeleteEdgeFrontends(Maps().frontends,
                          MapArray<EdgeFrontendKey>(info[0], [](const Napi::Value& v) { return ToEdgeFrontendKey(ObjectArg(v)); }));
      return env.Undefined();
    });
  }

  Napi::Value UpdateBackends(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      UpdateEdgeBackends(Maps().backends, MapArray<EdgeBackend>(info[0], [](const Napi::Value& v) {
                           Napi::Object b = ObjectArg(v);
                           return EdgeBackend{U32(b, "id"), Str(b, "addr"), Port(b), U32(b, "svcId"), OptStr(b, "nodeAddr")};
                         }));
      return env.Undefined();
    });
  }

  Napi::Value DeleteBackends(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      DeleteEdgeBackends(Maps().backends, U32Array(info[0]));
      return env.Undefined();
    });
  }

  Napi::Value SetMaglevTableJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      if (!info[0].IsNumber()) throw BpfError("setMaglevTable(svcId, backendIds) takes a number and an array");
      SetMaglevTable(Maps().maglev, info[0].As<Napi::Number>().Uint32Value(), U32Array(info[1]), edge_.maglev_size);
      return env.Undefined();
    });
  }

  Napi::Value UpdateSourceRangesJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      UpdateSourceRanges(Maps().source_ranges, MapArray<SourceRange>(info[0], ToSourceRange));
      return env.Undefined();
    });
  }

  Napi::Value DeleteSourceRangesJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      DeleteSourceRanges(Maps().source_ranges, MapArray<SourceRange>(info[0], ToSourceRange));
      return env.Undefined();
    });
  }

  Napi::Value DeleteMaglevTablesJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      DeleteMaglevTables(Maps().maglev, U32Array(info[0]));
      return env.Undefined();
    });
  }

  Napi::Value ProgTestRunJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      Maps();
      if (!info[0].IsString() || !info[1].IsBuffer())
        throw BpfError("progTestRun(progName, packet: Buffer, repeat) takes a string and a Buffer");
      Napi::Buffer<uint8_t> in = info[1].As<Napi::Buffer<uint8_t>>();
      TestRunOptions opts = TestRunOptionsOf(info[3]);
      opts.repeat = info[2].IsUndefined() ? 1 : info[2].As<Napi::Number>().Uint32Value();
      return TestRunResultObject(env, ProgTestRun(EdgeProgram(edge_, info[0].As<Napi::String>()),
                                                  std::vector<uint8_t>(in.Data(), in.Data() + in.Length()), opts));
    });
  }

  Napi::Value ProgTestRunBatchJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      Maps();
      if (!info[0].IsString() || !info[1].IsArray())
        throw BpfError("progTestRunBatch(progName, packets: Buffer[]) takes a string and an array");
      Napi::Array in = info[1].As<Napi::Array>();
      std::vector<std::vector<uint8_t>> packets(in.Length());
      for (uint32_t i = 0; i < in.Length(); i++) {
        Napi::Value v = in.Get(i);
        if (!v.IsBuffer()) throw BpfError("progTestRunBatch: packet " + std::to_string(i) + " is not a Buffer");
        Napi::Buffer<uint8_t> b = v.As<Napi::Buffer<uint8_t>>();
        packets[i].assign(b.Data(), b.Data() + b.Length());
      }
      return ToArray(env, ProgTestRunBatch(EdgeProgram(edge_, info[0].As<Napi::String>()), packets, TestRunOptionsOf(info[2])),
                     TestRunResultObject);
    });
  }

  Napi::Value MigrationsJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value { return MigrationsArray(env, edge_.migrations); });
  }

  Napi::Value SettleMigratedMaps(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value { return SettleMigrations(env, edge_.migrations); });
  }

  Napi::Value AttachXdpJs(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      Maps();
      if (!info[0].IsString()) throw BpfError("attachXdp(ifname, mode) takes a device name");
      const std::string mode = info[1].IsUndefined() ? "auto" : info[1].ToString().Utf8Value();
      XdpMode m = mode == "native" ? XdpMode::kNative : mode == "generic" ? XdpMode::kGeneric : XdpMode::kAuto;
      if (mode != "native" && mode != "generic" && mode != "auto")
        throw BpfError("XDP mode must be 'native', 'generic' or 'auto', got '" + mode + "'");
      return OutcomeObject(env, AttachXdp(info[0].As<Napi::String>(), EdgeProgram(edge_, "kpr_xdp_lb"), m));
    });
  }

  // attachTc(ifname, direction): a node device's ingress program ends DSR
  // tunnels; attachPodTc(ifname, direction): a pod interface's is the
  // per-packet path. Both egresses turn the replies back.
  Napi::Value AttachTcJs(const Napi::CallbackInfo& info) { return AttachTcAs(info, "attachTc", "kpr_tc_dsr_ingress"); }

  Napi::Value AttachPodTcJs(const Napi::CallbackInfo& info) { return AttachTcAs(info, "attachPodTc", "kpr_tc_pod_ingress"); }

  Napi::Value AttachTcAs(const Napi::CallbackInfo& info, const char* call, const char* ingress_program) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      Maps();
      if (!info[0].IsString()) throw BpfError(std::string(call) + "(ifname, direction) takes a device name");
      const std::string dir = info[1].IsUndefined() ? "both" : info[1].ToString().Utf8Value();
      if (dir != "both" && dir != "ingress" && dir != "egress")
        throw BpfError("tc direction must be 'ingress' or 'egress', got '" + dir + "'");
      bpf_program* ingress = dir == "egress" ? nullptr : EdgeProgram(edge_, ingress_program);
      bpf_program* egress = dir == "ingress" ? nullptr : EdgeProgram(edge_, "kpr_tc_dsr_egress");
      return OutcomeObject(env, AttachTc(info[0].As<Napi::String>(), ingress, egress));
    });
  }

  Napi::Value ProgramIdsJs(const Napi::CallbackInfo& info) { return ByProgram(info, ProgramIds); }
  Napi::Value VerifiedInsnsJs(const Napi::CallbackInfo& info) { return ByProgram(info, VerifiedInsns); }

  // A number per program of both objects (XDP and tc), by name.
  Napi::Value ByProgram(const Napi::CallbackInfo& info, std::map<std::string, uint32_t> (*of)(bpf_object*)) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      Maps();
      auto all = of(edge_.obj);
      all.merge(of(edge_.tc_obj));
      return IdsObject(env, all);
    });
  }

  EdgeObject edge_;
};

Napi::Value OpenEdgeDatapath(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    EdgeLoadOptions opts{Str(o, "objectPath"),  Str(o, "tcObjectPath"),   Str(o, "mapDir"),
                         U32(o, "frontendMax"), U32(o, "backendMax"),     U32(o, "flowMax"),
                         U32(o, "affinityMax"), U32(o, "sourceRangeMax"), U32(o, "snatMax"),
                         U32(o, "fragmentMax"), U32(o, "maglevTableSize")};
    if (opts.frontend_max == 0 || opts.frontend_max > KPR_MAP_MAX_LIMIT || opts.maglev_size == 0)
      throw BpfError("'frontendMax' must be between 1 and " + std::to_string(KPR_MAP_MAX_LIMIT) +
                     " and 'maglevTableSize' at least 1");
    return Instance<EdgeDatapath>(ConstructorsOf(env).edge_datapath, LoadEdgeObject(opts));
  });
}

Napi::Value OpenPinnedEdgeMapsJs(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    const std::string map_dir = MapDirArg(info, "openPinnedEdgeMaps");
    return Instance<EdgeDatapath>(ConstructorsOf(env).edge_maps, OpenPinnedEdgeMaps(map_dir));
  });
}

}  // namespace

void RegisterEdgeDatapath(Napi::Env env, Napi::Object exports, Constructors& ctors) {
  ctors.edge_datapath = Napi::Persistent(EdgeDatapath::Define(env));
  ctors.edge_maps = Napi::Persistent(EdgeDatapath::DefineReaders(env));
  exports.Set("openEdgeDatapath", Napi::Function::New(env, OpenEdgeDatapath));
  exports.Set("openPinnedEdgeMaps", Napi::Function::New(env, OpenPinnedEdgeMapsJs));
}

}  // namespace kpr::js
