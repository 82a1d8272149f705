// Kubernetes' own OpenAPI (api/openapi-spec/swagger.json of the k8s.io/kubernetes Go module) -> one JSON schema per
// kind, named as kubeconform looks schemas up ({kind}-{group}-{version}.json, with -schema-location
// 'DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json'), so the manifests are validated without kubeconform's download of
// its schemas from GitHub. Strict like kubeconform's -strict schemas: a misspelled field is an error, not ignored.
//
//   npx tsx deploy/k8s/schemas.ts SWAGGER_JSON OUT_DIR
import fs from 'node:fs';
import path from 'node:path';

type Schema = { [k: string]: unknown };
interface Gvk {
  group: string;
  version: string;
  kind: string;
}

const REF = '#/definitions/';

/** The file kubeconform asks for: `apps/v1` Deployment -> deployment-apps-v1.json, `v1` Service -> service-v1.json. */
export function schemaFileName({ group, version, kind }: Gvk): string {
  const groupPart = group ? `-${group.split('.')[0]!.toLowerCase()}` : '';
  return `${kind.toLowerCase()}${groupPart}-${version.toLowerCase()}.json`;
}

/**
 * One definition made usable by a JSON-schema validator: objects refuse fields they do not declare, and the two
 * string-typed unions of the API accept what YAML gives them (IntOrString: `port: 8080` or `port: http`; Quantity:
 * `cpu: 1` or `cpu: 500m`).
 */
function adapt(name: string, s: unknown): unknown {
  if (name === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString')
    return { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity')
    return { oneOf: [{ type: 'string' }, { type: 'number' }] };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const o: Schema = {};
    for (const [k, x] of Object.entries(v))
      o[k] =
        k === 'properties' ? Object.fromEntries(Object.entries(x as Schema).map(([p, y]) => [p, walk(y)])) : walk(x);
    if (o.properties && o.additionalProperties === undefined && !o['x-kubernetes-preserve-unknown-fields'])
      o.additionalProperties = false;
    return o;
  };
  return walk(s);
}

function refsOf(v: unknown, out: Set<string>): void {
  if (Array.isArray(v)) for (const x of v) refsOf(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith(REF)) out.add(x.slice(REF.length));
      else refsOf(x, out);
    }
  }
}

/** Writes a schema per kind that has a group-version-kind; returns how many. */
export function writeSchemas(swagger: { definitions: Record<string, Schema> }, outDir: string): number {
  const defs = Object.fromEntries(Object.entries(swagger.definitions).map(([n, d]) => [n, adapt(n, d) as Schema]));
  fs.mkdirSync(outDir, { recursive: true });
  let n = 0;
  for (const [name, def] of Object.entries(defs)) {
    const gvks = (swagger.definitions[name]!['x-kubernetes-group-version-kind'] as Gvk[] | undefined) ?? [];
    if (gvks.length === 0) continue;
    // Only the definitions this kind reaches, so each file stays small.
    const needed = new Set<string>();
    const queue = [name];
    while (queue.length) {
      const cur = queue.pop()!;
      const found = new Set<string>();
      refsOf(defs[cur], found);
      for (const r of found)
        if (!needed.has(r) && r !== name) {
          needed.add(r);
          queue.push(r);
        }
    }
    const definitions = Object.fromEntries([...needed].sort().map((r) => [r, defs[r]]));
    for (const gvk of gvks) {
      // The API's own apiVersion and kind, so a manifest that names another kind is refused by this schema too.
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      const props = {
        ...(def.properties as Schema),
        apiVersion: { type: 'string', enum: [apiVersion] },
        kind: { type: 'string', enum: [gvk.kind] },
      };
      fs.writeFileSync(
        path.join(outDir, schemaFileName(gvk)),
        JSON.stringify({ ...def, properties: props, definitions }),
      );
      n++;
    }
  }
  return n;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [swaggerFile, outDir] = process.argv.slice(2);
  if (!swaggerFile || !outDir) {
    console.error('usage: npx tsx deploy/k8s/schemas.ts SWAGGER_JSON OUT_DIR');
    process.exit(2);
  }
  const n = writeSchemas(JSON.parse(fs.readFileSync(swaggerFile, 'utf8')), outDir);
  console.error(`[kubeconform] wrote ${n} schemas to ${outDir}`);
}
