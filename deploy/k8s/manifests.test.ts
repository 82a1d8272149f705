// The Kubernetes manifests render with kustomize (base and every overlay, with the Secrets' example files filled in)
// and validate with kubeconform -strict against Kubernetes' own schemas (made offline by scripts/services.d/
// kubeconform.sh); and they say what README.md promises: probes on the platform's /readyz and /healthz, resources,
// autoscaling of ingest and vision, the evidence volume shared ReadWriteMany, secrets from Secrets.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);
const HERE = import.meta.dirname;
const ROOT = path.resolve(HERE, '../..');
const OVERLAYS = ['base', 'overlays/production', 'overlays/s3-evidence'];
let tools: Record<string, string>;
let work: string;

type K8sObject = { kind: string; metadata: { name: string }; spec?: Record<string, any> };

beforeAll(async () => {
  const { stdout } = await run('bash', [path.join(ROOT, 'scripts/services.d/kubeconform.sh'), 'up'], {
    timeout: 1_500_000,
  });
  tools = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  // A copy with the Secrets' source files made from their examples, as a city does before `kubectl apply -k`.
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'city-k8s-'));
  fs.cpSync(HERE, work, { recursive: true, filter: (f) => !/\.env$/.test(f) });
  for (const o of fs.readdirSync(path.join(work, 'overlays'))) {
    for (const f of fs.readdirSync(path.join(work, 'overlays', o))) {
      if (f.endsWith('.env.example'))
        fs.copyFileSync(path.join(work, 'overlays', o, f), path.join(work, 'overlays', o, f.replace(/\.example$/, '')));
    }
  }
}, 1_500_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function render(overlay: string): Promise<string> {
  return (await run(tools.KUSTOMIZE!, ['build', path.join(work, overlay)], { maxBuffer: 16 * 2 ** 20 })).stdout;
}

async function kubeconform(file: string): Promise<{ code: number; out: string }> {
  const args = [
    '-strict',
    '-summary',
    '-output',
    'text',
    '-schema-location',
    `${tools.KUBE_SCHEMAS}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    file,
  ];
  return run(tools.KUBECONFORM!, args).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
  );
}

describe('Kubernetes manifests', () => {
  it.each(OVERLAYS)('%s renders and every object is valid for Kubernetes (kubeconform -strict)', async (overlay) => {
    const file = path.join(work, `${overlay.replaceAll('/', '-')}.yaml`);
    fs.writeFileSync(file, await render(overlay));
    const r = await kubeconform(file);
    expect(r.out).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
    expect(r.code).toBe(0);
  });

  it('kubeconform refuses a misspelled field and a wrong type (the schemas are strict, not empty)', async () => {
    const file = path.join(work, 'broken.yaml');
    fs.writeFileSync(
      file,
      (await render('base'))
        .replace('periodSeconds: 20', 'periodSecond: 20')
        .replace('containerPort: 8080', 'containerPort: "8080"'),
    );
    const r = await kubeconform(file);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/additional properties 'periodSecond' not allowed/);
    expect(r.out).toMatch(/got string, want integer/);
  });

  it('every role has probes on /readyz and /healthz, resources, and secrets from Secrets', async () => {
    const objects = parseAllDocuments(await render('overlays/production')).map((d) => d.toJSON() as K8sObject);
    const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
    expect(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort()).toEqual([
      'Deployment/api',
      'StatefulSet/detectors',
      'StatefulSet/ingest',
      'StatefulSet/vision',
    ]);
    const secrets = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name));
    for (const w of workloads) {
      for (const c of w.spec!.template.spec.containers) {
        expect(c.readinessProbe?.httpGet?.path, `${w.metadata.name} readiness`).toBe('/readyz');
        expect(c.livenessProbe?.httpGet?.path, `${w.metadata.name} liveness`).toBe('/healthz');
        expect(c.resources?.requests?.cpu && c.resources?.limits?.memory, `${w.metadata.name} resources`).toBeTruthy();
        const env = c.env as {
          name: string;
          value?: string;
          valueFrom?: { secretKeyRef?: { name: string; optional?: boolean } };
        }[];
        expect(env.find((e) => e.name === 'ROLE')?.value).toBe(w.metadata.name);
        // No password or token as a plain value; each comes from a Secret the overlay makes (or an optional one).
        for (const e of env.filter((x) => /PASSWORD|TOKEN|SECRET/.test(x.name))) {
          const ref = e.valueFrom?.secretKeyRef;
          expect(ref, `${w.metadata.name} ${e.name}`).toBeDefined();
          if (!ref!.optional)
            expect(secrets.has(ref!.name), `${w.metadata.name} ${e.name} -> Secret ${ref!.name}`).toBe(true);
        }
      }
    }
    const hpas = objects
      .filter((o) => o.kind === 'HorizontalPodAutoscaler')
      .map((h) => `${h.spec!.scaleTargetRef.kind}/${h.spec!.scaleTargetRef.name}`);
    expect(hpas.sort()).toEqual(['StatefulSet/ingest', 'StatefulSet/vision']);
    const evidence = objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === 'evidence')!;
    expect(evidence.spec!.accessModes).toEqual(['ReadWriteMany']);
    for (const name of ['api', 'vision']) {
      const w = workloads.find((x) => x.metadata.name === name)!;
      expect(
        w.spec!.template.spec.volumes.some(
          (v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim?.claimName === 'evidence',
        ),
        name,
      ).toBe(true);
    }
  });
});
