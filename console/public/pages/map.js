// @ts-check
// The city on a map (#/map): district boundaries and unit grid cells from the city's GeoJSON, every registered device,
// open alerts and pending enforcement events at their places, coloured by state; a click leads to the device's chart,
// the alert, the event. Leaflet comes from the platform itself (/console/vendor/leaflet.js) and the base map is the
// city's tile URL when one is configured (MAP_TILE_URL): without it the grid and the boundaries are the map, offline.
// Admins register a device here: a click on the map gives the place, the grid cell is found from it, and the device's
// MQTT credentials are issued from the same panel; devices that publish unregistered are listed to adopt.
import { t } from '../i18n.js';
import { KINDS, api, errorText, h, toast } from '../lib.js';

/** @typedef {typeof import('/console/vendor/leaflet.js')} Leaflet */
/** @typedef {import('./devices.js').DeviceListItem} DeviceListItem */
/** @typedef {import('./alerts.js').AlertView} AlertView */
/** @typedef {import('../../../contracts/events.js').EnforcementEvent} EnforcementEvent */
/** @typedef {import('geojson').FeatureCollection} FeatureCollection */
/** `GET /api/map` (devices/map-routes.ts). */
/** @typedef {{ tileUrl: string | null, tileAttribution: string, districts: FeatureCollection | null, grid: FeatureCollection | null }} MapLayers */

/**
 * Leaflet, loaded with the first map (registerForm runs after that).
 * @type {Leaflet | null}
 */
let L = null;
const REFRESH_MS = 10_000;
/** @type {Readonly<Record<string, string>>} */
const SEVERITY_COLOUR = { info: '#4a7bd0', warning: '#e0a100', major: '#e06600', critical: '#d0202a' };

/** @param {DeviceListItem} d */
function deviceColour(d) {
  if (d.status === 'retired') return '#9aa0a6';
  if (d.status === 'maintenance') return '#4a7bd0';
  if (d.openAlerts > 0) return '#d0202a';
  return d.online ? '#1e9e4a' : '#6b7075';
}

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  if (!document.querySelector('link[data-leaflet]'))
    document.head.append(
      h('link', { rel: 'stylesheet', href: '/console/vendor/leaflet.css', 'data-leaflet': '' }),
      h('link', { rel: 'stylesheet', href: '/console/pages/map.css' }),
    );
  const leaflet = (L ??= await import('/console/vendor/leaflet.js'));
  const role = ctx.user?.role;
  const isAdmin = role === 'admin';
  const mapBox = h('div.map', { 'data-test': 'map' });
  const side = h('div.map-side');
  const legend = h(
    'div.map-legend.small',
    ...[
      ['#1e9e4a', t('map.legend.online')],
      ['#6b7075', t('map.legend.offline')],
      ['#d0202a', t('map.legend.alert')],
      ['#4a7bd0', t('map.legend.maintenance')],
      ['#8e44ad', t('map.legend.event')],
    ].map(([c, label]) => h('span.map-key', h('span.map-dot', { dataset: { colour: c } }), label)),
  );
  const el = h(
    'div.page.map-page',
    h('div.page-head', h('h1', t('map.title')), legend),
    h('div.map-wrap', mapBox, side),
  );
  // The dots of the legend: colours set as properties, which the page's CSP allows (no inline style attribute).
  for (const dot of legend.querySelectorAll('.map-dot'))
    /** @type {HTMLElement} */ (dot).style.background = /** @type {HTMLElement} */ (dot).dataset.colour ?? '';
  /** @type {MapLayers} */
  const layers = await api('/api/map');
  let timer = 0;
  /** @type {import('/console/vendor/leaflet.js').Map | null} */
  let shownMap = null;

  // Leaflet measures its container: the map is made once the page is in the document.
  const mounted = () => {
    const L = leaflet;
    const map = L.map(mapBox, { zoomControl: true, attributionControl: Boolean(layers.tileUrl) });
    shownMap = map;
    if (layers.tileUrl) L.tileLayer(layers.tileUrl, { attribution: layers.tileAttribution, maxZoom: 19 }).addTo(map);
    const grid = layers.grid
      ? L.geoJSON(layers.grid, {
          style: { color: '#7a8fa6', weight: 1, fillOpacity: 0.02 },
          onEachFeature: (f, l) => l.bindTooltip(String(f.properties?.code ?? ''), { sticky: true }),
        }).addTo(map)
      : null;
    const districts = layers.districts
      ? L.geoJSON(layers.districts, {
          style: { color: '#1f3b5c', weight: 3, fill: false },
          onEachFeature: (f, l) =>
            l.bindTooltip(String(f.properties?.name ?? f.properties?.district ?? ''), { permanent: false }),
        }).addTo(map)
      : null;
    const bounds = (districts ?? grid)?.getBounds();
    if (bounds?.isValid()) map.fitBounds(bounds);
    else map.setView([31.87, 120.55], 13);
    const deviceLayer = L.layerGroup().addTo(map);
    const alertLayer = L.layerGroup().addTo(map);
    const eventLayer = L.layerGroup().addTo(map);
    L.control
      .layers(undefined, {
        [t('map.layer.devices')]: deviceLayer,
        [t('map.layer.alerts')]: alertLayer,
        [t('map.layer.events')]: eventLayer,
        ...(grid ? { [t('map.layer.grid')]: grid } : {}),
      })
      .addTo(map);

    /** @type {DeviceListItem[]} */
    let devices = [];
    const form = isAdmin ? registerForm(map, () => refresh()) : null;
    if (form) side.append(form.el);
    const unregisteredBox = h('div.map-unregistered');
    if (isAdmin)
      side.append(
        unregisteredBox,
        csvTools(() => refresh()),
      );

    const link = (/** @type {string} */ href, /** @type {string} */ text) => h('a', { href }, text);
    const refresh = async () => {
      const canStaff = role === 'staff' || role === 'admin';
      const canReview = role === 'reviewer' || role === 'admin';
      /** @type {[DeviceListItem[], { items: AlertView[] }, { items: EnforcementEvent[] }]} */
      const [ds, alerts, events] = await Promise.all([
        canStaff ? api('/api/devices') : [],
        canStaff ? api('/api/alerts?state=open&limit=500') : { items: [] },
        canReview ? api('/api/events?status=pending&limit=500') : { items: [] },
      ]);
      devices = ds;
      /** @type {Map<string, { lat: number, lon: number }>} */
      const at = new Map();
      for (const d of devices) if (d.location) at.set(d.id, d.location);
      deviceLayer.clearLayers();
      for (const d of devices) {
        if (!d.location) continue;
        L.circleMarker([d.location.lat, d.location.lon], {
          radius: 7,
          color: '#fff',
          weight: 2,
          fillColor: deviceColour(d),
          fillOpacity: 0.95,
          className: `map-device map-device-${d.id}`,
        })
          .bindPopup(() =>
            h(
              'div.map-popup',
              h('b', d.id),
              h('div', `${t(`kind.${d.kind}`)} · ${d.district} · ${t(`map.status.${d.status}`)}`),
              h('div.mono', d.gridCell),
              d.address ? h('div', d.address) : null,
              d.site ? h('div', `${d.site.name}${d.site.party ? ` · ${d.site.party}` : ''}`) : null,
              d.kind !== 'camera'
                ? link(`#/devices/${encodeURIComponent(d.id)}`, t('map.open.chart'))
                : link(`#/cameras/${encodeURIComponent(d.id)}`, t('map.open.camera')),
              isAdmin && form ? h('button.link', { type: 'button', onclick: () => form.edit(d) }, t('map.edit')) : null,
            ),
          )
          .addTo(deviceLayer);
      }
      alertLayer.clearLayers();
      for (const a of alerts.items) {
        const loc = a.place?.location ?? at.get(a.deviceId);
        if (!loc) continue;
        L.circleMarker([loc.lat, loc.lon], {
          radius: 13,
          color: SEVERITY_COLOUR[a.severity] ?? '#d0202a',
          weight: 3,
          fill: false,
          className: `map-alert map-alert-${a.id}`,
        })
          .bindPopup(() =>
            h(
              'div.map-popup',
              h('b', a.name?.[document.documentElement.lang === 'en' ? 'en' : 'zh'] ?? a.ruleId),
              h('div', `${a.deviceId} · ${t(`severity.${a.severity}`)}`),
              a.place ? h('div.mono', a.place.gridCell) : null,
              a.place?.address ? h('div', a.place.address) : null,
              link(`#/alerts?device=${encodeURIComponent(a.deviceId)}`, t('map.open.alert')),
              ' · ',
              link(`#/devices/${encodeURIComponent(a.deviceId)}`, t('map.open.chart')),
            ),
          )
          .addTo(alertLayer);
      }
      eventLayer.clearLayers();
      for (const e of events.items) {
        const loc = e.camera?.location;
        if (!loc) continue;
        L.circleMarker([loc.lat, loc.lon], {
          radius: 9,
          color: '#fff',
          weight: 2,
          fillColor: '#8e44ad',
          fillOpacity: 0.9,
          className: 'map-event',
        })
          .bindPopup(() =>
            h(
              'div.map-popup',
              h('b', t(`type.${e.type}`)),
              h('div', e.camera.postedLocation ?? e.camera.id),
              link(`#/review?event=${encodeURIComponent(e.id)}`, t('map.open.event')),
            ),
          )
          .addTo(eventLayer);
      }
      if (isAdmin)
        drawUnregistered(
          unregisteredBox,
          devices.filter((d) => d.status === 'unregistered'),
          (d) => form?.edit({ ...d, location: null }, true),
        );
    };
    refresh().catch((e) => toast(errorText(e), 'error'));
    timer = window.setInterval(() => void refresh().catch(() => undefined), REFRESH_MS);
  };
  return { el, mounted, destroy: () => (clearInterval(timer), shownMap?.remove()) };
}

/**
 * @param {HTMLElement} box
 * @param {DeviceListItem[]} list
 * @param {(d: DeviceListItem) => void} adopt
 */
function drawUnregistered(box, list, adopt) {
  box.replaceChildren(
    h('h2', t('map.unregistered', { n: list.length })),
    list.length
      ? h(
          'ul.plain',
          ...list.map((d) =>
            h(
              'li',
              { dataset: { unregistered: d.id } },
              h('span.mono', d.id),
              ` ${t(`kind.${d.kind}`)} · ${d.district} `,
              h('button.link', { type: 'button', onclick: () => adopt(d) }, t('map.adopt')),
            ),
          ),
        )
      : h('p.muted.small', t('map.unregistered.none')),
  );
}

/** The admin's panel: register or change a device; the place comes from a click on the map. */
/**
 * @param {import('/console/vendor/leaflet.js').Map} map
 * @param {() => Promise<void>} done
 */
function registerForm(map, done) {
  /** @type {Record<string, HTMLInputElement | HTMLSelectElement>} */
  const f = {};
  const field = (
    /** @type {string} */ name,
    /** @type {string} */ label,
    /** @type {import('../lib.js').Attrs} */ attrs = {},
  ) => {
    f[name] = h('input', { name, 'data-field': name, ...attrs });
    return h('label', h('span', label), f[name]);
  };
  f.kind = h(
    'select',
    { name: 'kind', 'data-field': 'kind' },
    ...[...KINDS, 'camera'].map((k) => h('option', { value: k }, t(`kind.${k}`))),
  );
  f.status = h(
    'select',
    { name: 'status', 'data-field': 'status' },
    ...['active', 'maintenance', 'retired'].map((s) => h('option', { value: s }, t(`map.status.${s}`))),
  );
  const title = h('h2', t('map.register'));
  const creds = h('div.map-creds');
  /** @type {string | null} */
  let editing = null;
  /** @type {import('/console/vendor/leaflet.js').CircleMarker | null} */
  let pin = null;
  const el = h(
    'form.map-form',
    {
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = {
          kind: f.kind.value,
          district: f.district.value.trim(),
          location: { lat: Number(f.lat.value), lon: Number(f.lon.value) },
          ...(f.gridCell.value.trim() ? { gridCell: f.gridCell.value.trim() } : {}),
          address: f.address.value.trim(),
          site: f.siteName.value.trim()
            ? {
                name: f.siteName.value.trim(),
                ...(f.siteParty.value.trim() ? { party: f.siteParty.value.trim() } : {}),
              }
            : null,
          ruleGroup: f.ruleGroup.value.trim() || null,
          installedAt: f.installedAt.value || null,
          commissionedAt: f.commissionedAt.value || null,
          status: f.status.value,
        };
        try {
          const d = editing
            ? await api(`/api/devices/${encodeURIComponent(editing)}`, { method: 'PUT', body })
            : await api('/api/devices', { method: 'POST', body: { id: f.id.value.trim(), ...body } });
          toast(t(editing ? 'map.saved' : 'map.registered', { id: d.id, cell: d.gridCell }), 'ok');
          f.gridCell.value = d.gridCell;
          setEditing(d.id);
          await done();
        } catch (e) {
          toast(errorText(e), 'error', 8000);
        }
      },
    },
    title,
    h('p.muted.small', t('map.register.hint')),
    field('id', t('map.field.id'), { required: true }),
    h('label', h('span', t('map.field.kind')), f.kind),
    field('district', t('common.district'), { required: true }),
    field('lat', t('map.field.lat'), { required: true, inputmode: 'decimal' }),
    field('lon', t('map.field.lon'), { required: true, inputmode: 'decimal' }),
    field('gridCell', t('map.field.gridCell'), { placeholder: t('map.field.gridCell.auto'), pattern: '\\d{15}' }),
    field('address', t('map.field.address')),
    field('siteName', t('map.field.site')),
    field('siteParty', t('map.field.party')),
    field('ruleGroup', t('map.field.ruleGroup')),
    field('installedAt', t('map.field.installedAt'), { type: 'date' }),
    field('commissionedAt', t('map.field.commissionedAt'), { type: 'date' }),
    h('label', h('span', t('map.field.status')), f.status),
    h(
      'div.actions',
      h('button.primary', { type: 'submit', 'data-test': 'device-save' }, t('common.save')),
      h('button', { type: 'button', 'data-test': 'device-credentials', onclick: () => issue() }, t('map.credentials')),
    ),
    creds,
  );
  const setEditing = (/** @type {string | null} */ id) => {
    editing = id;
    f.id.disabled = Boolean(id);
    title.textContent = id ? t('map.edit.title', { id }) : t('map.register');
  };
  const issue = async () => {
    const id = editing ?? f.id.value.trim();
    if (!id) return;
    try {
      const c = await api(`/api/devices/${encodeURIComponent(id)}/credentials`, { method: 'POST' });
      creds.replaceChildren(
        h('p.small', t('map.credentials.once')),
        h('div.mono', { 'data-test': 'cred-username' }, c.username),
        h('div.mono', { 'data-test': 'cred-password' }, c.password),
        h('div.mono.small', c.topic),
      );
    } catch (e) {
      toast(errorText(e), 'error', 8000);
    }
  };
  map.on('click', (ev) => {
    f.lat.value = ev.latlng.lat.toFixed(6);
    f.lon.value = ev.latlng.lng.toFixed(6);
    // A new place: the cell is looked up again from it unless the admin types one.
    f.gridCell.value = '';
    pin?.remove();
    pin = /** @type {Leaflet} */ (L)
      .circleMarker(ev.latlng, { radius: 6, color: '#000', weight: 2, fill: false, className: 'map-pin' })
      .addTo(map);
  });
  /**
   * Fills the form with a device (or one that publishes unregistered, to adopt: its id kept, the form registers it).
   * @param {DeviceListItem} d
   */
  const edit = (d, adopting = false) => {
    for (const k of /** @type {const} */ (['id', 'district', 'address', 'ruleGroup', 'installedAt', 'commissionedAt']))
      /** @type {HTMLInputElement} */ (f[k]).value = d[k] ?? '';
    f.kind.value = d.kind;
    f.status.value = d.status === 'unregistered' ? 'active' : d.status;
    f.lat.value = String(d.location?.lat ?? '');
    f.lon.value = String(d.location?.lon ?? '');
    f.gridCell.value = d.gridCell ?? '';
    f.siteName.value = d.site?.name ?? '';
    f.siteParty.value = d.site?.party ?? '';
    creds.replaceChildren();
    setEditing(adopting ? null : d.id);
    if (adopting) f.id.value = d.id;
    el.scrollIntoView({ block: 'nearest' });
  };
  return { el, edit };
}

/** Export and import of the registry as CSV. */
/** @param {() => Promise<void>} done */
function csvTools(done) {
  const file = h('input', { type: 'file', accept: '.csv,text/csv', 'data-test': 'csv-file' });
  return h(
    'div.map-csv',
    h('h2', t('map.csv')),
    h('a', { href: '/api/devices/registry.csv', download: 'devices.csv' }, t('map.csv.export')),
    h(
      'div',
      file,
      h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            const f = file.files?.[0];
            if (!f) return;
            const res = await fetch('/api/devices/registry.csv', {
              method: 'POST',
              credentials: 'same-origin',
              headers: { 'content-type': 'text/csv' },
              body: await f.text(),
            });
            const j = await res.json().catch(() => ({}));
            if (res.ok) toast(t('map.csv.imported', { created: j.created, updated: j.updated }), 'ok');
            else toast(j.message ?? String(res.status), 'error', 10000);
            await done();
          },
        },
        t('map.csv.import'),
      ),
    ),
  );
}
