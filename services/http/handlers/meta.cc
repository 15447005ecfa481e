// GET /api/v1/meta: who the caller is, the engine's instant and readiness, the policy's rating
// bands, and the indicators and outcomes in report order with their titles and, for an indicator
// whose items can be open, the action an open item asks for (projections/labels.h): what the
// dashboard lays out, in the words the text and inspection reports use.
#include "projections/labels.h"
#include "services/http/handlers/handlers.h"

namespace casewatch::http {

HttpResponse HandleMeta(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese({}); !known) return ErrorResponse(known.error());
  const Policy& policy = state.options.view->policy();
  JsonWriter out;
  out.BeginObject().Key("principal").BeginObject();
  out.Key("name").String(call.principal->name).Key("role").String(NameOf(call.principal->role));
  out.Key("scope");
  WriteScope(out, call.principal->scope);
  out.EndObject().Key("as_of");
  WriteInstant(out, state.options.view->snapshot()->as_of);
  out.Key("ready").Bool(state.options.view->ready());
  out.Key("read_only").Bool(state.options.read_only);
  out.Key("policy").BeginObject().Key("ratings").BeginObject();
  out.Key("rating_outstanding").Double(policy.rating_outstanding);
  out.Key("rating_good").Double(policy.rating_good);
  out.Key("rating_requires_improvement").Double(policy.rating_requires_improvement);
  out.EndObject().EndObject();
  // A setting of the engine, not of the policy: scores on fewer relevant cases are marked.
  out.Key("min_cases").Int(state.options.view->min_cases());
  out.Key("indicators").BeginArray();
  for (int i = 0; i < kIndicatorCount; ++i) {
    const IndicatorInfo& info = kIndicators[i];
    const auto indicator = static_cast<Indicator>(i);
    out.BeginObject().Key("id").String(info.id).Key("outcome").String(NameOf(info.outcome));
    out.Key("title").String(TitleOf(indicator)).Key("action");
    if (ActionOf(indicator).empty()) {
      out.Null();
    } else {
      out.String(ActionOf(indicator));
    }
    // An indicator whose items come in kinds (safeguarding: one check of each kind) lists them.
    if (indicator == Indicator::kSafeguardingChecks) {
      out.Key("checks").BeginArray();
      for (const CheckLabel& check : kSafeguardingCheckLabels) {
        out.BeginObject().Key("id").String(check.id).Key("title").String(check.title);
        out.Key("action").String(check.action).EndObject();
      }
      out.EndArray();
    }
    out.EndObject();
  }
  out.EndArray().Key("outcomes").BeginArray();
  for (int o = 0; o < kOutcomeCount; ++o) {
    const auto outcome = static_cast<Outcome>(o);
    out.BeginObject().Key("id").String(NameOf(outcome)).Key("title").String(TitleOf(outcome));
    out.Key("short_title").String(ShortTitleOf(outcome)).EndObject();
  }
  out.EndArray().EndObject();
  return Json(200, out.Take());
}

}  // namespace casewatch::http
