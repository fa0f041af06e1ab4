// handOverEdgeFlows(mapDir) -> {snat, local, replaced, closed, failed,
// errors}: the edge LB's flows written into the node's conntrack before kpr
// leaves (conntrack_handover.h). A plain function: nothing stays open.
#include "conntrack_handover.h"
#include "js/objects.h"
#include "js/values.h"

namespace kpr::js {
namespace {

Napi::Value HandOver(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    HandoverReport r = HandOverEdgeFlows(MapDirArg(info, "handOverEdgeFlows"));
    Napi::Object o = Napi::Object::New(env);
    o.Set("snat", static_cast<double>(r.snat));
    o.Set("local", static_cast<double>(r.local));
    o.Set("replaced", static_cast<double>(r.replaced));
    o.Set("closed", static_cast<double>(r.closed));
    o.Set("failed", static_cast<double>(r.failed));
    Napi::Array errors = Napi::Array::New(env, r.errors.size());
    for (size_t i = 0; i < r.errors.size(); i++) errors.Set(i, r.errors[i]);
    o.Set("errors", errors);
    return o;
  });
}

}  // namespace

void RegisterConntrackHandover(Napi::Env env, Napi::Object exports) {
  exports.Set("handOverEdgeFlows", Napi::Function::New(env, HandOver));
}

}  // namespace kpr::js
