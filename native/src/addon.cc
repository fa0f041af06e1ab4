// Node-API surface of the native core: converts JS values to the records of
// lb_maps.h and maglev.h and back, and turns BpfError and MaglevError into JS
// Errors. No logic lives here.
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <napi.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>

#include "attach_record.h"
#include "bpf_errors.h"
#include "cgroup_links.h"
#include "edge_attach.h"
#include "edge_maps.h"
#include "edge_trace.h"
#include "flow_gc.h"
#include "lb_maps.h"
#include "loader.h"
#include "maglev.h"
#include "prog_test_run.h"
#include "status.h"
#include "udp_sock_destroy.h"

namespace kpr {
namespace {

// Whether an optional field is given. TypeScript's `key?: T` admits the key
// holding undefined as well as no key at all; both mean absent here.
bool Given(const Napi::Object& o, const char* key) { return !o.Get(key).IsUndefined(); }

std::string Str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw BpfError(std::string("'") + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

uint32_t U32(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw BpfError(std::string("'") + key + "' must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 4294967295.0 || d != static_cast<uint32_t>(d))
    throw BpfError(std::string("'") + key + "' must be an unsigned 32-bit integer");
  return static_cast<uint32_t>(d);
}

uint16_t Port(const Napi::Object& o) {
  uint32_t p = U32(o, "port");
  if (p > 65535) throw BpfError("'port' out of range: " + std::to_string(p));
  return static_cast<uint16_t>(p);
}

Frontend ToFrontend(const Napi::Object& o) { return Frontend{Str(o, "addr"), Port(o), ProtoFromName(Str(o, "proto"))}; }

template <typename T, typename F>
std::vector<T> MapArray(const Napi::Value& v, F convert) {
  if (!v.IsArray()) throw BpfError("expected an array");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<T> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    out.push_back(convert(e));
  }
  return out;
}

Napi::Object ObjectArg(const Napi::Value& v) {
  if (!v.IsObject()) throw BpfError("expected an object");
  return v.As<Napi::Object>();
}

// Runs fn and rethrows a BpfError as a JS Error with the same message.
template <typename F>
Napi::Value Guard(const Napi::Env& env, F fn) {
  try {
    return fn();
  } catch (const BpfError& e) {
    throw Napi::Error::New(env, e.what());
  } catch (const MaglevError& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// What a load migrated: [{ map, fromEntries, toEntries, copied }].
Napi::Array MigrationsArray(const Napi::Env& env, const Migrations& migrations) {
  Napi::Array out = Napi::Array::New(env);
  for (const auto& m : migrations)
    for (const auto& done : m->Migrated()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("map", done.name);
      o.Set("fromEntries", done.from_entries);
      o.Set("toEntries", done.to_entries);
      o.Set("copied", static_cast<double>(done.copied));
      if (!done.from_layout.empty()) o.Set("fromLayout", done.from_layout);
      out.Set(out.Length(), o);
    }
  return out;
}

uint64_t SettleMigrations(Migrations& migrations) {
  uint64_t copied = 0;
  for (auto& m : migrations) copied += m->Settle();
  return copied;
}

// {name: id} of programs.
Napi::Object IdsObject(const Napi::Env& env, const std::map<std::string, uint32_t>& ids) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [name, id] : ids) o.Set(name, id);
  return o;
}

class LbMaps : public Napi::ObjectWrap<LbMaps> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LbMaps",
                       {
                           InstanceMethod("updateBackends", &LbMaps::UpdateBackendsJs),
                           InstanceMethod("deleteBackends", &LbMaps::DeleteBackendsJs),
                           InstanceMethod("updateServices", &LbMaps::UpdateServicesJs),
                           InstanceMethod("deleteServices", &LbMaps::DeleteServicesJs),
                           InstanceMethod("dumpServices", &LbMaps::DumpServicesJs),
                           InstanceMethod("dumpBackends", &LbMaps::DumpBackendsJs),
                           InstanceMethod("readServiceStats", &LbMaps::ReadServiceStatsJs),
                           InstanceMethod("readDrops", &LbMaps::ReadDropsJs),
                           InstanceMethod("attachCgroup", &LbMaps::AttachCgroupJs),
                           InstanceMethod("attachCgroupProgram", &LbMaps::AttachCgroupProgramJs),
                           InstanceMethod("programIds", &LbMaps::ProgramIdsJs),
                           InstanceMethod("destroyUdpSockets", &LbMaps::DestroyUdpSocketsJs),
                           InstanceMethod("migrations", &LbMaps::MigrationsJs),
                           InstanceMethod("settleMigratedMaps", &LbMaps::SettleMigratedMapsJs),
                           InstanceMethod("close", &LbMaps::CloseJs),
                       });
  }

  explicit LbMaps(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LbMaps>(info) {}
  ~LbMaps() override { Close(); }

  // Takes ownership of a loaded object (agent) or of pinned map fds (readers).
  void Adopt(LoadedObject loaded) {
    obj_ = loaded.obj;
    maps_ = loaded.maps;
    migrations_ = loaded.migrations;
    destroyer_ = std::make_unique<UdpSockDestroyer>(obj_, maps_.destroy);
  }
  void Adopt(MapFds fds) {
    maps_ = fds;
    owns_fds_ = true;
  }

 private:
  void Close() {
    destroyer_.reset();
    migrations_.clear();
    if (obj_) bpf_object__close(obj_);  // closes its map fds too
    if (owns_fds_) {
      for (int fd : {maps_.services, maps_.backends, maps_.affinity, maps_.revnat, maps_.destroy,
                     maps_.svc_stats, maps_.drops})
        if (fd >= 0) close(fd);
    }
    obj_ = nullptr;
    owns_fds_ = false;
    maps_ = MapFds{};
  }

  void RequireOpen() const {
    if (maps_.services < 0) throw BpfError("datapath is closed");
  }
  void RequireLoaded() const {
    if (!obj_) throw BpfError("maps were opened read-only: no programs are loaded");
  }

  Napi::Value UpdateBackendsJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireOpen();
      auto backends = MapArray<Backend>(info[0], [](const Napi::Value& v) {
        Napi::Object o = ObjectArg(v);
        return Backend{U32(o, "id"), Str(o, "addr"), Port(o), U32(o, "svcId")};
      });
      UpdateBackends(maps_.backends, backends);
      return info.Env().Undefined();
    });
  }

  Napi::Value DeleteBackendsJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireOpen();
      auto ids = MapArray<uint32_t>(info[0], [](const Napi::Value& v) {
        if (!v.IsNumber()) throw BpfError("backend ids must be numbers");
        return v.As<Napi::Number>().Uint32Value();
      });
      DeleteBackends(maps_.backends, ids);
      return info.Env().Undefined();
    });
  }

  Napi::Value UpdateServicesJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireOpen();
      auto slots = MapArray<ServiceSlot>(info[0], [](const Napi::Value& v) {
        Napi::Object o = ObjectArg(v);
        uint32_t slot = U32(o, "slot"), count = U32(o, "count");
        if (slot > 65535 || count > 65535) throw BpfError("'slot' and 'count' must fit 16 bits");
        return ServiceSlot{ToFrontend(o),         static_cast<uint16_t>(slot), U32(o, "svcId"),
                           U32(o, "backendId"),   static_cast<uint16_t>(count), U32(o, "affinityTimeout")};
      });
      UpdateServices(maps_.services, slots);
      return info.Env().Undefined();
    });
  }

  Napi::Value DeleteServicesJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireOpen();
      auto keys = MapArray<sock_svc_key>(info[0], [](const Napi::Value& v) {
        Napi::Object o = ObjectArg(v);
        uint32_t slot = U32(o, "slot");
        if (slot > 65535) throw BpfError("'slot' must fit 16 bits");
        return PackServiceKey(ToFrontend(o), static_cast<uint16_t>(slot));
      });
      DeleteServices(maps_.services, keys);
      return info.Env().Undefined();
    });
  }

  Napi::Value DumpServicesJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireOpen();
      Napi::Env env = info.Env();
      auto slots = DumpServices(maps_.services);
      // Property names made once per dump, not once per entry: with 100k
      // entries, making the name strings costs more than reading the map.
      const Napi::String addr = Napi::String::New(env, "addr"), port = Napi::String::New(env, "port"),
                         proto = Napi::String::New(env, "proto"), slot = Napi::String::New(env, "slot"),
                         svc_id = Napi::String::New(env, "svcId"), backend_id = Napi::String::New(env, "backendId"),
                         count = Napi::String::New(env, "count"), affinity = Napi::String::New(env, "affinityTimeout");
      Napi::Array out = Napi::Array::New(env, slots.size());
      for (size_t i = 0; i < slots.size(); i++) {
        const auto& s = slots[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set(addr, s.fe.addr);
        o.Set(port, s.fe.port);
        o.Set(proto, ProtoName(s.fe.proto));
        o.Set(slot, s.slot);
        o.Set(svc_id, s.svc_id);
        o.Set(backend_id, s.backend_id);
        o.Set(count, s.count);
        o.Set(affinity, s.affinity_timeout);
        out.Set(i, o);
      }
      return out;
    });
  }

  Napi::Value DumpBackendsJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireOpen();
      Napi::Env env = info.Env();
      auto backends = DumpBackends(maps_.backends);
      const Napi::String id = Napi::String::New(env, "id"), addr = Napi::String::New(env, "addr"),
                         port = Napi::String::New(env, "port"), svc_id = Napi::String::New(env, "svcId");
      Napi::Array out = Napi::Array::New(env, backends.size());
      for (size_t i = 0; i < backends.size(); i++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set(id, backends[i].id);
        o.Set(addr, backends[i].addr);
        o.Set(port, backends[i].port);
        o.Set(svc_id, backends[i].svc_id);
        out.Set(i, o);
      }
      return out;
    });
  }

  Napi::Value ReadServiceStatsJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireOpen();
      Napi::Env env = info.Env();
      auto sums = SumPerCpuCounters(maps_.svc_stats, UINT32_MAX);
      Napi::Array out = Napi::Array::New(env);
      for (size_t id = 0; id < sums.size(); id++) {
        if (!sums[id]) continue;
        Napi::Object o = Napi::Object::New(env);
        o.Set("svcId", static_cast<double>(id));
        o.Set("translations", static_cast<double>(sums[id]));
        out.Set(out.Length(), o);
      }
      return out;
    });
  }

  Napi::Value ReadDropsJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireOpen();
      Napi::Env env = info.Env();
      auto sums = SumPerCpuCounters(maps_.drops, KPR_SOCK_REASON_MAX);
      Napi::Array out = Napi::Array::New(env, sums.size());
      for (size_t i = 0; i < sums.size(); i++) out.Set(i, static_cast<double>(sums[i]));
      return out;
    });
  }

  Napi::Value AttachCgroupJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireLoaded();
      if (!info[0].IsString() || !info[1].IsString())
        throw BpfError("attachCgroup(cgroupPath, linkDir) takes two strings");
      Napi::Env env = info.Env();
      auto results = AttachCgroupPrograms(obj_, info[0].As<Napi::String>(), info[1].As<Napi::String>());
      Napi::Array out = Napi::Array::New(env, results.size());
      for (size_t i = 0; i < results.size(); i++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("prog", results[i].prog);
        o.Set("action", results[i].action);
        out.Set(i, o);
      }
      return out;
    });
  }

  Napi::Value AttachCgroupProgramJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireLoaded();
      if (!info[0].IsString() || !info[1].IsString() || !info[2].IsString())
        throw BpfError("attachCgroupProgram(name, cgroupPath, linkDir) takes three strings");
      AttachResult r = AttachCgroupProgram(obj_, info[0].As<Napi::String>(), info[1].As<Napi::String>(), info[2].As<Napi::String>());
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("prog", r.prog);
      o.Set("action", r.action);
      return o;
    });
  }

  Napi::Value ProgramIdsJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireLoaded();
      return IdsObject(info.Env(), ProgramIds(obj_));
    });
  }

  Napi::Value DestroyUdpSocketsJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      RequireLoaded();
      auto targets = MapArray<SocketTarget>(info[0], [](const Napi::Value& v) {
        Napi::Object o = ObjectArg(v);
        return SocketTarget{Str(o, "addr"), Port(o)};
      });
      auto paths = MapArray<std::string>(info[1], [](const Napi::Value& v) {
        if (!v.IsString()) throw BpfError("netns paths must be strings");
        return v.As<Napi::String>().Utf8Value();
      });
      return Napi::Number::New(info.Env(), static_cast<double>(destroyer_->Destroy(targets, paths)));
    });
  }

  Napi::Value MigrationsJs(const Napi::CallbackInfo& info) { return MigrationsArray(info.Env(), migrations_); }

  Napi::Value SettleMigratedMapsJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), static_cast<double>(SettleMigrations(migrations_))); });
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Close();
    return info.Env().Undefined();
  }

  bpf_object* obj_ = nullptr;
  Migrations migrations_;
  MapFds maps_;
  bool owns_fds_ = false;
  std::unique_ptr<UdpSockDestroyer> destroyer_;
};

Napi::FunctionReference* Constructor(Napi::Env env) { return env.GetInstanceData<Napi::FunctionReference>(); }

Napi::Value OpenDatapath(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    LoadOptions opts{Str(o, "objectPath"), Str(o, "mapDir"), U32(o, "lbMapMax"), U32(o, "revNatMapMax")};
    if (opts.lb_map_max == 0 || opts.lb_map_max > (1u << 24))
      throw BpfError("'lbMapMax' must be between 1 and 16777216");
    if (opts.revnat_map_max == 0) throw BpfError("'revNatMapMax' must be at least 1");
    Napi::Object wrapper = Constructor(info.Env())->New({});
    LbMaps::Unwrap(wrapper)->Adopt(LoadObject(opts));
    return wrapper;
  });
}

Napi::Value OpenPinned(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throw BpfError("openPinnedMaps(mapDir) takes a string");
    Napi::Object wrapper = Constructor(info.Env())->New({});
    LbMaps::Unwrap(wrapper)->Adopt(OpenPinnedMaps(info[0].As<Napi::String>()));
    return wrapper;
  });
}

Napi::Uint32Array ToUint32Array(const Napi::Env& env, const std::vector<uint32_t>& v) {
  Napi::Uint32Array out = Napi::Uint32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), out.Data());
  return out;
}

// Two Node-API calls a string where Str() makes five, which saves about
// 0.05 ms of computeMaglev at 1000 backends. Names are short; a longer one
// is read again at its full length.
std::vector<std::string> StringArray(const Napi::Env& env, const Napi::Value& v, const char* key) {
  const std::string err = std::string("'") + key + "' must be an array of strings";
  if (!v.IsArray()) throw BpfError(err);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out(a.Length());
  char buf[64];
  for (uint32_t i = 0; i < out.size(); i++) {
    napi_value e;
    size_t len;
    if (napi_get_element(env, a, i, &e) != napi_ok || napi_get_value_string_utf8(env, e, buf, sizeof(buf), &len) != napi_ok)
      throw BpfError(err);
    if (len < sizeof(buf) - 1) {
      out[i].assign(buf, len);
    } else {
      napi_get_value_string_utf8(env, e, nullptr, 0, &len);
      out[i].resize(len + 1);
      napi_get_value_string_utf8(env, e, out[i].data(), len + 1, &len);
      out[i].resize(len);
    }
  }
  return out;
}

Napi::Value ComputeMaglevJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object o = ObjectArg(info[0]);
    auto names = StringArray(env, o.Get("backends"), "backends");
    MaglevTable t = ComputeMaglev(names, U32(o, "size"), U32(o, "seed"));
    Napi::Object out = Napi::Object::New(env);
    out.Set("order", ToUint32Array(env, t.backends));
    out.Set("table", ToUint32Array(env, t.slots));
    out.Set("digest", t.digest);
    return out;
  });
}

Napi::Value ComputeMaglevFromPermutationsJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    auto perms = MapArray<MaglevPermutation>(o.Get("permutations"), [](const Napi::Value& v) {
      Napi::Object p = ObjectArg(v);
      return MaglevPermutation{U32(p, "offset"), U32(p, "skip")};
    });
    return ToUint32Array(info.Env(), PopulateMaglev(perms, U32(o, "size")));
  });
}

// ---- XDP edge load balancer: a plain object of methods over one loaded
// xdp_lb.o, which its close() (or the garbage collector) releases.

std::string OptStr(const Napi::Object& o, const char* key) { return Given(o, key) ? Str(o, key) : ""; }

// One of the names in `choices` -> its flag (choices[0] maps to 0).
uint16_t Choice(const Napi::Object& o, const char* key, const char* zero, const char* one, uint16_t flag) {
  std::string v = Str(o, key);
  if (v == zero) return 0;
  if (v == one) return flag;
  throw BpfError(std::string("'") + key + "' must be '" + zero + "' or '" + one + "', got '" + v + "'");
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
  return EdgeFrontend{ToFrontend(o), U32(o, "svcId"), static_cast<uint16_t>(count), flags, timeout};
}

SourceRange ToSourceRange(const Napi::Value& v) {
  Napi::Object r = ObjectArg(v);
  return SourceRange{U32(r, "svcId"), Str(r, "cidr")};
}

// The inverse of ToEdgeFrontend.
Napi::Object EdgeFrontendObject(const Napi::Env& env, const EdgeFrontend& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("addr", f.fe.addr);
  o.Set("port", f.fe.port);
  o.Set("proto", ProtoName(f.fe.proto));
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

Napi::Array NumberArray(const Napi::Env& env, const std::vector<uint32_t>& v) {
  Napi::Array out = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) out.Set(i, v[i]);
  return out;
}

template <typename T, typename F>
Napi::Array ToArray(const Napi::Env& env, const std::vector<T>& items, F toObject) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); i++) out.Set(i, toObject(env, items[i]));
  return out;
}

std::vector<uint32_t> U32Array(const Napi::Value& v) {
  return MapArray<uint32_t>(v, [](const Napi::Value& e) {
    if (!e.IsNumber()) throw BpfError("ids must be numbers");
    return e.As<Napi::Number>().Uint32Value();
  });
}

Napi::Array CountersArray(const Napi::Env& env, const std::vector<uint64_t>& sums) {
  Napi::Array out = Napi::Array::New(env, sums.size());
  for (size_t i = 0; i < sums.size(); i++) out.Set(i, static_cast<double>(sums[i]));
  return out;
}

// A loaded edge LB (its objects own the map fds), or the pinned maps alone
// (opened by path; ours to close).
struct EdgeDatapath {
  EdgeObject edge;
  bool pinned_only = false;
  bool open = false;
  ~EdgeDatapath() { Close(); }
  void Close() {
    if (pinned_only) CloseEdgeMaps(edge.maps);
    if (edge.obj) bpf_object__close(edge.obj);
    if (edge.tc_obj) bpf_object__close(edge.tc_obj);
    edge = EdgeObject{};
    open = false;
  }
  const EdgeMapFds& Maps() const {
    if (!open) throw BpfError("edge datapath is closed");
    return edge.maps;
  }
};

using EdgeMethod = std::function<Napi::Value(EdgeDatapath&, const Napi::CallbackInfo&)>;

// Binds methods over one EdgeDatapath to a plain JS object.
struct EdgeApi {
  Napi::Object api;
  std::shared_ptr<EdgeDatapath> dp;
  void Add(const char* name, EdgeMethod fn) {
    auto d = dp;
    api.Set(name, Napi::Function::New(api.Env(), [d, fn](const Napi::CallbackInfo& ci) {
              return Guard(ci.Env(), [&]() -> Napi::Value { return fn(*d, ci); });
            }));
  }
};

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

// What both a loaded edge LB and its pinned maps can answer.
void AddEdgeReaders(EdgeApi& a) {
  a.Add("dumpFrontends", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    return ToArray(ci.Env(), DumpEdgeFrontends(d.Maps().frontends), EdgeFrontendObject);
  });
  a.Add("dumpBackends", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    return ToArray(ci.Env(), DumpEdgeBackends(d.Maps().backends), EdgeBackendObject);
  });
  a.Add("dumpSourceRanges", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    return ToArray(ci.Env(), DumpSourceRanges(d.Maps().source_ranges), [](const Napi::Env& env, const SourceRange& r) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("svcId", r.svc_id);
      o.Set("cidr", r.cidr);
      return o;
    });
  });
  a.Add("dumpMaglevTableIds", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    return NumberArray(ci.Env(), DumpMaglevTableIds(d.Maps().maglev));
  });
  a.Add("readMaglevTable", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    if (!ci[0].IsNumber()) throw BpfError("readMaglevTable(svcId) takes a number");
    return NumberArray(ci.Env(), ReadMaglevTable(d.Maps().maglev, ci[0].As<Napi::Number>().Uint32Value()));
  });
  a.Add("dumpFlows", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    return ToArray(ci.Env(), DumpEdgeFlows(d.Maps()), [](const Napi::Env& env, const EdgeFlow& f) {
      Napi::Object o = Napi::Object::New(env);
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
  a.Add("readConfig", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    return EdgeConfigObject(ci.Env(), ReadEdgeConfig(d.Maps().config));
  });
  a.Add("readDrops", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    return CountersArray(ci.Env(), SumPerCpuCounters(d.Maps().drops, KPR_EDGE_REASON_MAX));
  });
  a.Add("readFlowMisses", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    return Napi::Number::New(ci.Env(), static_cast<double>(SumPerCpuCounters(d.Maps().flow_misses, 1)[0]));
  });
  a.Add("readStats", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
    return ToArray(ci.Env(), ReadEdgeStats(d.Maps().stats), [](const Napi::Env& env, const EdgeStats& st) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("svcId", st.svc_id);
      o.Set("packets", static_cast<double>(st.packets));
      o.Set("bytes", static_cast<double>(st.bytes));
      return o;
    });
  });
  a.Add("close", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
    d.Close();
    return ci.Env().Undefined();
  });
}

Napi::Value MaglevDigestJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    auto names = StringArray(info.Env(), o.Get("backends"), "backends");
    std::vector<std::string_view> views(names.begin(), names.end());
    return Napi::String::New(info.Env(), MaglevDigest(views, U32Array(o.Get("table")), U32(o, "seed")));
  });
}

Napi::Object TraceEventObject(const Napi::Env& env, const edge_trace_event& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tsNs", static_cast<double>(e.ts_ns));
  o.Set("client", FormatAddr(e.client_addr, e.family));
  o.Set("clientPort", ntohs(e.client_port));
  o.Set("frontend", FormatAddr(e.frontend_addr, e.family));
  o.Set("frontendPort", ntohs(e.frontend_port));
  o.Set("proto", ProtoName(e.proto));
  o.Set("svcId", e.svc_id);
  if (e.backend_id) {
    o.Set("backendId", e.backend_id);
    o.Set("backend", FormatAddr(e.backend_addr, e.family));
    o.Set("backendPort", ntohs(e.backend_port));
  }
  o.Set("action", e.action);
  o.Set("pick", e.pick);
  o.Set("path", e.path);
  o.Set("dropReason", e.drop_reason);
  return o;
}

// `kpr trace`'s handle on the pinned trace maps; close() (or the garbage
// collector) releases it. The caller stops the trace; a lease left behind
// ends by itself.
Napi::Value OpenTraceJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throw BpfError("openTrace(mapDir) takes a string");
    auto trace = std::make_shared<EdgeTrace>(info[0].As<Napi::String>());
    Napi::Object api = Napi::Object::New(info.Env());
    auto add = [&](const char* name, std::function<Napi::Value(EdgeTrace&, const Napi::CallbackInfo&)> fn) {
      api.Set(name, Napi::Function::New(info.Env(), [trace, fn](const Napi::CallbackInfo& ci) {
                return Guard(ci.Env(), [&]() -> Napi::Value { return fn(*trace, ci); });
              }));
    };
    add("start", [](EdgeTrace& t, const Napi::CallbackInfo& ci) {
      Napi::Object f = ObjectArg(ci[0]);
      TraceFilter filter;
      if (Given(f, "frontend")) {  // an address alone: any of its ports and protocols
        Napi::Object fe = ObjectArg(f.Get("frontend"));
        filter.frontend_addr = Str(fe, "addr");
        if (Given(fe, "port")) filter.frontend_port = Port(fe);
        if (Given(fe, "proto")) filter.frontend_proto = ProtoFromName(Str(fe, "proto"));
      }
      filter.client_addr = OptStr(f, "client");
      t.Start(filter, U32(f, "leaseMs"));
      return ci.Env().Undefined();
    });
    add("renew", [](EdgeTrace& t, const Napi::CallbackInfo& ci) {
      t.Renew(ci[0].As<Napi::Number>().Uint32Value());
      return ci.Env().Undefined();
    });
    add("stop", [](EdgeTrace& t, const Napi::CallbackInfo& ci) {
      t.Stop();
      return ci.Env().Undefined();
    });
    add("poll", [](EdgeTrace& t, const Napi::CallbackInfo& ci) -> Napi::Value {
      return ToArray(ci.Env(), t.Poll(ci[0].As<Napi::Number>().Int32Value()), TraceEventObject);
    });
    add("lost", [](EdgeTrace& t, const Napi::CallbackInfo& ci) -> Napi::Value {
      return Napi::Number::New(ci.Env(), static_cast<double>(t.Lost()));
    });
    add("close", [](EdgeTrace& t, const Napi::CallbackInfo& ci) {
      t.Close();
      return ci.Env().Undefined();
    });
    return api;
  });
}

Napi::Value OpenPinnedEdgeMapsJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throw BpfError("openPinnedEdgeMaps(mapDir) takes a string");
    EdgeApi a{Napi::Object::New(info.Env()), std::make_shared<EdgeDatapath>()};
    a.dp->edge.maps = OpenPinnedEdgeMaps(info[0].As<Napi::String>());
    a.dp->pinned_only = a.dp->open = true;
    AddEdgeReaders(a);
    return a.api;
  });
}

// The collector of per-flow state over the maps pinned in mapDir
// (flow_gc.h): {step(budget) -> [{map, visited, deleted, passDone, live}], close()}.
Napi::Value OpenFlowGcJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throw BpfError("openFlowGc(mapDir) takes a string");
    auto gc = std::make_shared<std::unique_ptr<FlowGc>>(std::make_unique<FlowGc>(info[0].As<Napi::String>()));
    Napi::Object api = Napi::Object::New(info.Env());
    api.Set("step", Napi::Function::New(info.Env(), [gc](const Napi::CallbackInfo& ci) {
              return Guard(ci.Env(), [&]() -> Napi::Value {
                if (!*gc) throw BpfError("the flow collector is closed");
                if (!ci[0].IsNumber() || ci[0].As<Napi::Number>().Uint32Value() == 0) throw BpfError("step(budget) takes a positive number");
                return ToArray(ci.Env(), (*gc)->Step(ci[0].As<Napi::Number>().Uint32Value()), [](const Napi::Env& env, const FlowGcReport& r) {
                  Napi::Object o = Napi::Object::New(env);
                  o.Set("map", r.map);
                  o.Set("visited", static_cast<double>(r.visited));
                  o.Set("deleted", static_cast<double>(r.deleted));
                  o.Set("passDone", r.pass_done);
                  if (r.live >= 0) o.Set("live", static_cast<double>(r.live));
                  return o;
                });
              });
            }));
    api.Set("close", Napi::Function::New(info.Env(), [gc](const Napi::CallbackInfo& ci) {
              gc->reset();
              return ci.Env().Undefined();
            }));
    return api;
  });
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

Napi::Value ProgTestRunJs(EdgeDatapath& dp, const Napi::CallbackInfo& info) {
  dp.Maps();
  if (!info[0].IsString() || !info[1].IsBuffer()) throw BpfError("progTestRun(progName, packet: Buffer, repeat) takes a string and a Buffer");
  Napi::Buffer<uint8_t> in = info[1].As<Napi::Buffer<uint8_t>>();
  TestRunOptions opts = TestRunOptionsOf(info[3]);
  opts.repeat = info[2].IsUndefined() ? 1 : info[2].As<Napi::Number>().Uint32Value();
  TestRunResult r = ProgTestRun(EdgeProgram(dp.edge, info[0].As<Napi::String>()), std::vector<uint8_t>(in.Data(), in.Data() + in.Length()), opts);
  return TestRunResultObject(info.Env(), r);
}

Napi::Value ProgTestRunBatchJs(EdgeDatapath& dp, const Napi::CallbackInfo& info) {
  dp.Maps();
  if (!info[0].IsString() || !info[1].IsArray()) throw BpfError("progTestRunBatch(progName, packets: Buffer[]) takes a string and an array");
  Napi::Array in = info[1].As<Napi::Array>();
  std::vector<std::vector<uint8_t>> packets(in.Length());
  for (uint32_t i = 0; i < in.Length(); i++) {
    Napi::Value v = in.Get(i);
    if (!v.IsBuffer()) throw BpfError("progTestRunBatch: packet " + std::to_string(i) + " is not a Buffer");
    Napi::Buffer<uint8_t> b = v.As<Napi::Buffer<uint8_t>>();
    packets[i].assign(b.Data(), b.Data() + b.Length());
  }
  std::vector<TestRunResult> results =
      ProgTestRunBatch(EdgeProgram(dp.edge, info[0].As<Napi::String>()), packets, TestRunOptionsOf(info[2]));
  Napi::Array out = Napi::Array::New(info.Env(), results.size());
  for (uint32_t i = 0; i < results.size(); i++) out.Set(i, TestRunResultObject(info.Env(), results[i]));
  return out;
}

Napi::Object OutcomeObject(const Napi::Env& env, const AttachOutcome& a) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("mode", a.mode);
  out.Set("action", a.action);
  return out;
}

Napi::Value OpenEdgeDatapath(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    EdgeLoadOptions opts{Str(o, "objectPath"),  Str(o, "tcObjectPath"),   Str(o, "mapDir"),
                         U32(o, "frontendMax"), U32(o, "backendMax"),     U32(o, "flowMax"),
                         U32(o, "affinityMax"), U32(o, "sourceRangeMax"), U32(o, "snatMax"),
                         U32(o, "fragmentMax"), U32(o, "maglevTableSize")};
    if (opts.frontend_max == 0 || opts.frontend_max > (1u << 24) || opts.maglev_size == 0)
      throw BpfError("'frontendMax' must be between 1 and 16777216 and 'maglevTableSize' at least 1");
    EdgeApi a{Napi::Object::New(info.Env()), std::make_shared<EdgeDatapath>()};
    a.dp->edge = LoadEdgeObject(opts);
    a.dp->open = true;
    AddEdgeReaders(a);
    a.Add("setConfig", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
      WriteEdgeConfig(d.Maps().config, ToEdgeConfig(ObjectArg(ci[0])), d.edge.maglev_size);
      return ci.Env().Undefined();
    });
    a.Add("updateFrontends", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
      UpdateEdgeFrontends(d.Maps().frontends, MapArray<EdgeFrontend>(ci[0], ToEdgeFrontend));
      return ci.Env().Undefined();
    });
    a.Add("deleteFrontends", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
      DeleteEdgeFrontends(d.Maps().frontends, MapArray<Frontend>(ci[0], [](const Napi::Value& v) { return ToFrontend(ObjectArg(v)); }));
      return ci.Env().Undefined();
    });
    a.Add("updateBackends", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
      UpdateEdgeBackends(d.Maps().backends, MapArray<EdgeBackend>(ci[0], [](const Napi::Value& v) {
                           Napi::Object b = ObjectArg(v);
                           return EdgeBackend{U32(b, "id"), Str(b, "addr"), Port(b), U32(b, "svcId"), OptStr(b, "nodeAddr")};
                         }));
      return ci.Env().Undefined();
    });
    a.Add("deleteBackends", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
      DeleteEdgeBackends(d.Maps().backends, U32Array(ci[0]));
      return ci.Env().Undefined();
    });
    a.Add("setMaglevTable", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
      if (!ci[0].IsNumber()) throw BpfError("setMaglevTable(svcId, backendIds) takes a number and an array");
      SetMaglevTable(d.Maps().maglev, ci[0].As<Napi::Number>().Uint32Value(), U32Array(ci[1]), d.edge.maglev_size);
      return ci.Env().Undefined();
    });
    a.Add("updateSourceRanges", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
      UpdateSourceRanges(d.Maps().source_ranges, MapArray<SourceRange>(ci[0], ToSourceRange));
      return ci.Env().Undefined();
    });
    a.Add("deleteSourceRanges", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
      DeleteSourceRanges(d.Maps().source_ranges, MapArray<SourceRange>(ci[0], ToSourceRange));
      return ci.Env().Undefined();
    });
    a.Add("deleteMaglevTables", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) {
      DeleteMaglevTables(d.Maps().maglev, U32Array(ci[0]));
      return ci.Env().Undefined();
    });
    a.Add("progTestRun", ProgTestRunJs);
    a.Add("progTestRunBatch", ProgTestRunBatchJs);
    a.Add("migrations", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value { return MigrationsArray(ci.Env(), d.edge.migrations); });
    a.Add("settleMigratedMaps", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
      return Napi::Number::New(ci.Env(), static_cast<double>(SettleMigrations(d.edge.migrations)));
    });
    a.Add("attachXdp", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
      d.Maps();
      if (!ci[0].IsString()) throw BpfError("attachXdp(ifname, mode) takes a device name");
      const std::string mode = ci[1].IsUndefined() ? "auto" : ci[1].ToString().Utf8Value();
      XdpMode m = mode == "native" ? XdpMode::kNative : mode == "generic" ? XdpMode::kGeneric : XdpMode::kAuto;
      if (mode != "native" && mode != "generic" && mode != "auto") throw BpfError("XDP mode must be 'native', 'generic' or 'auto', got '" + mode + "'");
      return OutcomeObject(ci.Env(), AttachXdp(ci[0].As<Napi::String>(), EdgeProgram(d.edge, "kpr_xdp_lb"), m));
    });
    a.Add("attachTc", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
      d.Maps();
      if (!ci[0].IsString()) throw BpfError("attachTc(ifname, direction) takes a device name");
      const std::string dir = ci[1].IsUndefined() ? "both" : ci[1].ToString().Utf8Value();
      if (dir != "both" && dir != "ingress" && dir != "egress") throw BpfError("tc direction must be 'ingress' or 'egress', got '" + dir + "'");
      bpf_program* ingress = dir == "egress" ? nullptr : EdgeProgram(d.edge, "kpr_tc_dsr_ingress");
      bpf_program* egress = dir == "ingress" ? nullptr : EdgeProgram(d.edge, "kpr_tc_dsr_egress");
      return OutcomeObject(ci.Env(), AttachTc(ci[0].As<Napi::String>(), ingress, egress));
    });
    a.Add("programIds", [](EdgeDatapath& d, const Napi::CallbackInfo& ci) -> Napi::Value {
      d.Maps();
      auto ids = ProgramIds(d.edge.obj);
      ids.merge(ProgramIds(d.edge.tc_obj));
      return IdsObject(ci.Env(), ids);
    });
    return a.api;
  });
}

Napi::Object LinkObject(const Napi::Env& env, const PinnedLinkInfo& l) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("name", l.name);
  r.Set("program", l.program);
  r.Set("progId", l.prog_id);
  r.Set("attachType", l.attach_type);
  r.Set("cgroupId", static_cast<double>(l.cgroup_id));
  return r;
}

Napi::Object DeviceObject(const Napi::Env& env, const DeviceAttachment& d) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("device", d.device);
  if (d.xdp_id) {
    r.Set("xdp", d.xdp_program);
    r.Set("xdpId", d.xdp_id);
    r.Set("xdpMode", d.xdp_mode);
  }
  if (d.tc_ingress_id) {
    r.Set("tcIngress", d.tc_ingress);
    r.Set("tcIngressId", d.tc_ingress_id);
  }
  if (d.tc_egress_id) {
    r.Set("tcEgress", d.tc_egress);
    r.Set("tcEgressId", d.tc_egress_id);
  }
  return r;
}

Napi::Object WantedObject(const Napi::Env& env, const WantedAttachment& w) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("program", w.program);
  r.Set("hook", w.hook);
  if (!w.device.empty()) r.Set("device", w.device);
  r.Set("scope", static_cast<double>(w.scope));
  r.Set("progId", w.prog_id);
  return r;
}

std::vector<std::string> Strings(const Napi::Value& v, const char* what) {
  return MapArray<std::string>(v, [what](const Napi::Value& e) {
    if (!e.IsString()) throw BpfError(std::string(what) + " must be strings");
    return e.As<Napi::String>().Utf8Value();
  });
}

// `kpr status`: the kernel's side, read without the agent.
Napi::Value KernelStatusJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object o = ObjectArg(info[0]);
    const std::string map_dir = Str(o, "mapDir");
    Napi::Object out = Napi::Object::New(env);
    out.Set("maps", ToArray(env, PinnedMaps(map_dir), [](const Napi::Env& e, const PinnedMapInfo& m) {
      Napi::Object r = Napi::Object::New(e);
      r.Set("name", m.name);
      r.Set("type", m.type);
      r.Set("maxEntries", m.max_entries);
      if (m.entries >= 0) r.Set("entries", static_cast<double>(m.entries));
      return r;
    }));
    out.Set("links", ToArray(env, PinnedLinks(Str(o, "linkDir")), LinkObject));
    auto wanted = ReadAttachRecord(map_dir);
    std::vector<std::string> wanted_devices;
    for (const auto& w : wanted)
      if (!w.device.empty()) wanted_devices.push_back(w.device);
    out.Set("devices", ToArray(env, DeviceAttachments(wanted_devices), DeviceObject));
    out.Set("wanted", ToArray(env, wanted, WantedObject));
    return out;
  });
}

// The agent's check: its pinned links, and what the devices it wants carry.
Napi::Value ReadAttachmentsJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object o = ObjectArg(info[0]);
    Napi::Object out = Napi::Object::New(env);
    out.Set("links", ToArray(env, PinnedLinks(Str(o, "linkDir")), LinkObject));
    out.Set("devices", ToArray(env, NamedDeviceAttachments(Strings(o.Get("devices"), "devices")), DeviceObject));
    return out;
  });
}

Napi::Value WriteAttachRecordJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throw BpfError("writeAttachRecord(mapDir, rows) takes a directory and an array");
    auto rows = MapArray<WantedAttachment>(info[1], [](const Napi::Value& v) {
      Napi::Object r = ObjectArg(v);
      Napi::Value scope = r.Get("scope");
      if (!scope.IsNumber() || scope.As<Napi::Number>().DoubleValue() < 0) throw BpfError("'scope' must be a non-negative number");
      return WantedAttachment{Str(r, "program"), Str(r, "hook"), OptStr(r, "device"),
                              static_cast<uint64_t>(scope.As<Napi::Number>().DoubleValue()), U32(r, "progId")};
    });
    WriteAttachRecord(info[0].As<Napi::String>(), rows);
    return info.Env().Undefined();
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* ctor = new Napi::FunctionReference(Napi::Persistent(LbMaps::Define(env)));
  env.SetInstanceData(ctor);
  exports.Set("openDatapath", Napi::Function::New(env, OpenDatapath));
  exports.Set("openPinnedMaps", Napi::Function::New(env, OpenPinned));
  exports.Set("openEdgeDatapath", Napi::Function::New(env, OpenEdgeDatapath));
  exports.Set("openPinnedEdgeMaps", Napi::Function::New(env, OpenPinnedEdgeMapsJs));
  exports.Set("openTrace", Napi::Function::New(env, OpenTraceJs));
  exports.Set("openFlowGc", Napi::Function::New(env, OpenFlowGcJs));
  exports.Set("kernelStatus", Napi::Function::New(env, KernelStatusJs));
  exports.Set("readAttachments", Napi::Function::New(env, ReadAttachmentsJs));
  exports.Set("writeAttachRecord", Napi::Function::New(env, WriteAttachRecordJs));
  exports.Set("maglevDigest", Napi::Function::New(env, MaglevDigestJs));
  exports.Set("computeMaglev", Napi::Function::New(env, ComputeMaglevJs));
  exports.Set("computeMaglevFromPermutations", Napi::Function::New(env, ComputeMaglevFromPermutationsJs));
  return exports;
}

}  // namespace
}  // namespace kpr

static Napi::Object InitKpr(Napi::Env env, Napi::Object exports) { return kpr::Init(env, exports); }

NODE_API_MODULE(kpr, InitKpr)
