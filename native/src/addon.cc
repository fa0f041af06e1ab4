// Node-API surface of the native core: converts JS values to the records of
// lb_maps.h and back, and turns BpfError into JS Errors. No logic lives here.
#include <bpf/libbpf.h>
#include <napi.h>
#include <unistd.h>

#include <memory>

#include "bpf_errors.h"
#include "cgroup_links.h"
#include "lb_maps.h"
#include "loader.h"
#include "udp_sock_destroy.h"

namespace kpr {
namespace {

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
  }
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
                           InstanceMethod("destroyUdpSockets", &LbMaps::DestroyUdpSocketsJs),
                           InstanceMethod("close", &LbMaps::CloseJs),
                       });
  }

  explicit LbMaps(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LbMaps>(info) {}
  ~LbMaps() override { Close(); }

  // Takes ownership of a loaded object (agent) or of pinned map fds (readers).
  void Adopt(LoadedObject loaded) {
    obj_ = loaded.obj;
    maps_ = loaded.maps;
    destroyer_ = std::make_unique<UdpSockDestroyer>(obj_, maps_.destroy);
  }
  void Adopt(MapFds fds) {
    maps_ = fds;
    owns_fds_ = true;
  }

 private:
  void Close() {
    destroyer_.reset();
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
      auto keys = MapArray<lb_svc_key>(info[0], [](const Napi::Value& v) {
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
      Napi::Array out = Napi::Array::New(env, slots.size());
      for (size_t i = 0; i < slots.size(); i++) {
        const auto& s = slots[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("addr", s.fe.addr);
        o.Set("port", s.fe.port);
        o.Set("proto", ProtoName(s.fe.proto));
        o.Set("slot", s.slot);
        o.Set("svcId", s.svc_id);
        o.Set("backendId", s.backend_id);
        o.Set("count", s.count);
        o.Set("affinityTimeout", s.affinity_timeout);
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
      Napi::Array out = Napi::Array::New(env, backends.size());
      for (size_t i = 0; i < backends.size(); i++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("id", backends[i].id);
        o.Set("addr", backends[i].addr);
        o.Set("port", backends[i].port);
        o.Set("svcId", backends[i].svc_id);
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
      auto sums = SumPerCpuCounters(maps_.drops, KPR_REASON_MAX);
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

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Close();
    return info.Env().Undefined();
  }

  bpf_object* obj_ = nullptr;
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* ctor = new Napi::FunctionReference(Napi::Persistent(LbMaps::Define(env)));
  env.SetInstanceData(ctor);
  exports.Set("openDatapath", Napi::Function::New(env, OpenDatapath));
  exports.Set("openPinnedMaps", Napi::Function::New(env, OpenPinned));
  return exports;
}

}  // namespace
}  // namespace kpr

static Napi::Object InitKpr(Napi::Env env, Napi::Object exports) { return kpr::Init(env, exports); }

NODE_API_MODULE(kpr, InitKpr)
