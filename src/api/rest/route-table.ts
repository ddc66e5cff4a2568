import { getOption, hasOption, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { http } from "../../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../../gen/google/api/http_pb.js";
import { parsePathTemplate, type PathTemplate } from "./path-template.js";

/** One REST binding of an RPC, read from its `google.api.http` annotation. */
export interface Route {
  verb: string;
  template: PathTemplate;
  path: string;
  /** "" (no body), "*" (whole request) or a request field name. */
  body: string;
  /** "" (whole response) or a response field name. */
  responseBody: string;
  method: DescMethod;
}

/**
 * Builds the route table from the annotations of the given services, additional bindings
 * included, ordered most specific first. There is no hand-written route list.
 */
export function buildRoutes(services: DescService[]): Route[] {
  const routes: Route[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      if (!hasOption(method, http)) continue;
      const rule = getOption(method, http);
      for (const r of [rule, ...rule.additionalBindings]) routes.push(routeOf(r, method));
    }
  }
  return routes.sort((a, b) => b.template.literals - a.template.literals);
}

function routeOf(rule: HttpRule, method: DescMethod): Route {
  const { case: verb, value } = rule.pattern;
  if (verb === undefined || verb === "custom") throw new Error(`${method.name}: unsupported http rule`);
  return {
    verb: verb.toUpperCase(),
    template: parsePathTemplate(value),
    path: value,
    body: rule.body,
    responseBody: rule.responseBody,
    method,
  };
}
