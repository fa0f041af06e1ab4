// `kpr trace`'s handle on the edge LB's pinned trace maps: openTrace(mapDir).
// The caller stops the trace; a lease left behind ends by itself.
#include <arpa/inet.h>

#include <memory>

#include "edge_trace.h"
#include "js/objects.h"
#include "js/values.h"

namespace kpr::js {
namespace {

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

class Trace : public Napi::ObjectWrap<Trace> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EdgeTrace",
                       {
                           InstanceMethod("start", &Trace::Start),
                           InstanceMethod("renew", &Trace::Renew),
                           InstanceMethod("stop", &Trace::Stop),
                           InstanceMethod("poll", &Trace::Poll),
                           InstanceMethod("lost", &Trace::Lost),
                           InstanceMethod("close", &Trace::Close),
                       });
  }

  explicit Trace(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Trace>(info) {}

  void Adopt(std::unique_ptr<EdgeTrace> trace) { trace_ = std::move(trace); }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      Napi::Object f = ObjectArg(info[0]);
      TraceFilter filter;
      if (Given(f, "frontend")) {  // an address alone: any of its ports and protocols
        Napi::Object fe = ObjectArg(f.Get("frontend"));
        filter.frontend_addr = Str(fe, "addr");
        if (Given(fe, "port")) filter.frontend_port = Port(fe);
        if (Given(fe, "proto")) filter.frontend_proto = ProtoFromName(Str(fe, "proto"));
      }
      filter.client_addr = OptStr(f, "client");
      trace_->Start(filter, U32(f, "leaseMs"));
      return env.Undefined();
    });
  }

  Napi::Value Renew(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      trace_->Renew(info[0].As<Napi::Number>().Uint32Value());
      return env.Undefined();
    });
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      trace_->Stop();
      return env.Undefined();
    });
  }

  Napi::Value Poll(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return ToArray(env, trace_->Poll(info[0].As<Napi::Number>().Int32Value()), TraceEventObject);
    });
  }

  Napi::Value Lost(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(trace_->Lost())); });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      trace_->Close();
      return env.Undefined();
    });
  }

  std::unique_ptr<EdgeTrace> trace_;
};

Napi::Value OpenTrace(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    auto trace = std::make_unique<EdgeTrace>(MapDirArg(info, "openTrace"));
    return Instance<Trace>(ConstructorsOf(env).edge_trace, std::move(trace));
  });
}

}  // namespace

void RegisterEdgeTrace(Napi::Env env, Napi::Object exports, Constructors& ctors) {
  ctors.edge_trace = Napi::Persistent(Trace::Define(env));
  exports.Set("openTrace", Napi::Function::New(env, OpenTrace));
}

}  // namespace kpr::js
