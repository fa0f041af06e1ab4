// The collector of per-flow state over the maps pinned in mapDir
// (flow_gc.h): openFlowGc(mapDir) -> {step(budget) -> [{map, visited,
// deleted, passDone, live}], close()}.
#include <memory>

#include "flow_gc.h"
#include "js/objects.h"
#include "js/values.h"

namespace kpr::js {
namespace {

Napi::Object ReportObject(const Napi::Env& env, const FlowGcReport& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("map", r.map);
  o.Set("visited", static_cast<double>(r.visited));
  o.Set("deleted", static_cast<double>(r.deleted));
  o.Set("passDone", r.pass_done);
  if (r.live >= 0) o.Set("live", static_cast<double>(r.live));
  return o;
}

class FlowGcObject : public Napi::ObjectWrap<FlowGcObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FlowGc",
                       {
                           InstanceMethod("step", &FlowGcObject::Step),
                           InstanceMethod("close", &FlowGcObject::Close),
                       });
  }

  explicit FlowGcObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FlowGcObject>(info) {}

  void Adopt(std::unique_ptr<FlowGc> gc) { gc_ = std::move(gc); }

 private:
  Napi::Value Step(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      if (!gc_) throw BpfError("the flow collector is closed");
      if (!info[0].IsNumber() || info[0].As<Napi::Number>().Uint32Value() == 0)
        throw BpfError("step(budget) takes a positive number");
      return ToArray(env, gc_->Step(info[0].As<Napi::Number>().Uint32Value()), ReportObject);
    });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    gc_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<FlowGc> gc_;
};

Napi::Value OpenFlowGc(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    auto gc = std::make_unique<FlowGc>(MapDirArg(info, "openFlowGc"));
    return Instance<FlowGcObject>(ConstructorsOf(env).flow_gc, std::move(gc));
  });
}

}  // namespace

void RegisterFlowGc(Napi::Env env, Napi::Object exports, Constructors& ctors) {
  ctors.flow_gc = Napi::Persistent(FlowGcObject::Define(env));
  exports.Set("openFlowGc", Napi::Function::New(env, OpenFlowGc));
}

}  // namespace kpr::js
