// The addon's entry point: registers the objects and functions of js/ (one
// file each, js/objects.h) on its exports. The native core beside it knows
// nothing of JavaScript; js/ converts its records and errors.
#include <napi.h>

#include "js/objects.h"

namespace kpr::js {

Constructors& ConstructorsOf(Napi::Env env) { return *env.GetInstanceData<Constructors>(); }

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* ctors = new Constructors();
  env.SetInstanceData(ctors);  // deleted with the environment
  RegisterSockDatapath(env, exports, *ctors);
  RegisterEdgeDatapath(env, exports, *ctors);
  RegisterEdgeTrace(env, exports, *ctors);
  RegisterFlowGc(env, exports, *ctors);
  RegisterStatus(env, exports);
  RegisterConntrackHandover(env, exports);
  RegisterMaglev(env, exports);
  return exports;
}

}  // namespace
}  // namespace kpr::js

static Napi::Object InitKpr(Napi::Env env, Napi::Object exports) { return kpr::js::Init(env, exports); }

NODE_API_MODULE(kpr, InitKpr)
