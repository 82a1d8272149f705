// @ts-check
// The party's page: look up a record by its query code (or plate, day and phone, where the city offers it), see it with its evidence, the decision,
// the legal basis and what happens next, and state one's case with photos; and the published monitoring locations.
// One ES module, no framework, no build step. Text is always set as text, never parsed as HTML.
// The server says in <html data-status> whether the path's code was found, so a code it did not find is not asked
// for again (each miss is counted against this client).

// What the server answers (party/record.ts PublicRecordView, the look-up and the locations) is read as it comes: the
// server's types cannot be loaded by the browser check (they import the server), and the page shows what is there.
/** @typedef {Record<string, any>} Answer */
/** @typedef {{ view: 'home' | 'record' | 'lookup' | 'locations', data: Answer | null, note: string | null }} View */
/** @typedef {string | number | Node | null | undefined | false | ChildList} Child */
/** @typedef {Array<Child>} ChildList */

/** @type {Record<'zh' | 'en', Record<string, any>>} */
const STR = {
  zh: {
    brand: '非现场执法记录查询',
    langButton: 'English',
    homeTitle: '查询执法记录',
    homeIntro: '请输入短信或告知单上的查询码。您可以查看记录、证据照片、处理结果和法律依据，并提交陈述和申辩。',
    code: '查询码',
    codeHint: '16 位字母和数字，例如 7K2M-9QXD-4HBT-W3ZP（不区分大小写，可省略横线）',
    codeInvalid: '查询码应为 16 位字母和数字，请核对后重新输入',
    search: '查询',
    or: '或',
    byPlate: '按车牌和日期查询（车辆）',
    plate: '车牌号',
    plateHint: '例如 苏A12345',
    date: '日期',
    phone: '接收告知短信的手机号',
    phoneHint: '登记车辆时留下的 11 位手机号，告知短信发往此号码',
    plateInvalid: '请输入车牌号、日期和 11 位手机号',
    locationsLink: '电子监控设备设置地点公示',
    sourceLink: '源代码与许可证',
    locationsTitle: '电子监控设备设置地点公示',
    locationsIntro:
      '依照《行政处罚法》第四十一条，用于非现场执法的监控设备设置地点向社会公布。设备自公示之日起满 {days} 天后方可用于执法。',
    noLocations: '目前没有已公示的设备。',
    enforces: '监控内容',
    publishedAt: '公示日期',
    enforcingFrom: '启用执法日期',
    enforcingNow: '已启用',
    notYet: '公示期内，尚未启用',
    gridCell: '单元网格',
    district: '辖区',
    camera: '设备编号',
    back: '返回查询',
    loading: '正在加载…',
    notFound: '未找到该查询码对应的记录，请核对后重试。',
    tooMany: '查询失败次数过多，请稍后再试。',
    failed: '加载失败，请稍后再试。',
    recordTitle: '执法记录',
    queryCode: '查询码',
    what: '违法行为',
    category: '案件类别',
    where: '地点',
    zone: '区域',
    plateLabel: '车牌',
    when: '发现时间',
    thresholdAt: '超过限定时长',
    lastSeen: '最后看到',
    dwell: '持续时长',
    minutes: '{n} 分钟',
    seconds: '{n} 秒',
    evidenceTitle: '证据照片',
    evidenceNote: '每张照片均以 SHA-256 摘要存证，可核对未被篡改。',
    openFull: '查看原图',
    decisionTitle: '审核与处理',
    reviewedBy: '经{role}人工审核确认（{time}）',
    status: '当前状态',
    reason: '原因',
    toldBy: '告知方式',
    toldNone: '未能事先告知',
    recheckAt: '复查时间',
    recheckResult: '复查结果',
    caseId: '案件编号',
    nextTitle: '下一步',
    legalTitle: '法律依据',
    cameraPublished: '该设备设置地点公示于 {date}，自 {from} 起用于执法。',
    cameraUnpublished: '该设备设置地点尚未公示。',
    statementsTitle: '陈述和申辩',
    statementsNone: '尚未提交陈述。',
    statementItem: '{time} 提交 · {status}',
    stOpen: '待审核人员处理',
    stHandled: '已处理',
    formTitle: '提交陈述和申辩',
    formIntro: '您可以说明情况、提出异议，并附上照片（最多 {max} 张，每张不超过 {mb} MB，JPEG、PNG 或 WebP）。',
    text: '陈述内容',
    contact: '联系方式（选填，便于答复）',
    contactHint: '手机号或其他联系方式；只有审核人员能看到',
    partyPhone: '接收告知短信的手机号（当事人选填）',
    partyPhoneHint:
      '填写告知短信发往的号码，本陈述使用当事人专用名额，他人提交再多也不影响您陈述；号码只用于核对，不会显示',
    photos: '照片（选填）',
    submit: '提交',
    submitting: '正在提交…',
    submitted: '已提交（编号 {id}）。审核人员会阅读并答复。',
    textRequired: '请填写陈述内容',
    textTooLong: '陈述内容不能超过 {max} 个字',
    tooManyPhotos: '最多只能附 {max} 张照片',
    photoTooLarge: '照片 {name} 超过 {mb} MB',
    photoType: '{name} 不是 JPEG、PNG 或 WebP 格式的图片',
    lookupTitle: '按车牌查询结果',
    lookupNone: '未找到该车牌在该日期、发往该手机号的记录。',
    lookupPick: '找到以下记录，请选择：',
    footer: '本页面不需要登录。请妥善保管查询码：持有查询码的人可以查看本记录。',
    types: {
      'illegal-parking': '机动车违法停放',
      'illegal-non-motor-parking': '非机动车乱停放',
      'out-of-store-vending': '出店经营（店外经营）',
    },
    roles: { reviewer: '审核员', admin: '管理员', staff: '工作人员' },
    channels: { sms: '短信', loudspeaker: '现场语音提醒' },
    statuses: {
      'awaiting-recheck': '已告知，等待复查',
      corrected: '告知后已纠正',
      case: '已立案',
      'notice-only': '仅予告知',
      'not-enforcing': '不予处理（设备公示未满期限）',
      'recheck-unavailable': '复查未完成，人工处理中',
    },
    reasons: {
      notified: '已告知当事人',
      'corrected-after-notice': '告知后已纠正',
      'uncorrected-after-notice': '告知后未纠正',
      'repeat-offence': '期限内再次违法',
      'first-offence-leniency': '首次违法，仅予告知',
      'no-contact': '无登记联系方式，未能事先告知',
      'camera-not-published': '设备设置地点公示未满期限',
      'recheck-unavailable': '摄像机未能复查',
    },
    recheckResults: { present: '仍未纠正', absent: '已纠正', unavailable: '无法复查' },
    roles_evidence: {
      'first-seen': '首次发现',
      threshold: '超过限定时长',
      last: '最后看到',
      crop: '特写',
      frame: '原始画面（未标注）',
      recheck: '复查画面',
    },
  },
  en: {
    brand: 'Enforcement record look-up',
    langButton: '中文',
    homeTitle: 'Look up an enforcement record',
    homeIntro:
      'Enter the query code from the SMS or the notice. You can see the record, the evidence photos, the outcome and the legal basis, and state your case.',
    code: 'Query code',
    codeHint: '16 letters and digits, such as 7K2M-9QXD-4HBT-W3ZP (any case, dashes optional)',
    codeInvalid: 'A query code has 16 letters and digits; please check it and try again',
    search: 'Look up',
    or: 'or',
    byPlate: 'Look up by plate and day (vehicles)',
    plate: 'Plate number',
    plateHint: 'such as 苏A12345',
    date: 'Date',
    phone: 'Mobile number the notice was sent to',
    phoneHint: 'the 11-digit number registered for the vehicle, which the SMS notice went to',
    plateInvalid: 'Enter a plate number, a date and the 11-digit mobile number',
    locationsLink: 'Published locations of monitoring cameras',
    sourceLink: 'Source code and licences',
    locationsTitle: 'Published locations of monitoring cameras',
    locationsIntro:
      'Under Article 41 of the Administrative Penalty Law the locations of cameras used for non-site enforcement are published. A camera enforces only once its location has been published for {days} days.',
    noLocations: 'No camera location is published yet.',
    enforces: 'Watches for',
    publishedAt: 'Published on',
    enforcingFrom: 'Enforces from',
    enforcingNow: 'enforcing',
    notYet: 'published, not enforcing yet',
    gridCell: 'Grid cell',
    district: 'District',
    camera: 'Camera',
    back: 'Back to the look-up',
    loading: 'Loading…',
    notFound: 'No record for this query code; please check it and try again.',
    tooMany: 'Too many failed look-ups; please try again later.',
    failed: 'Could not load; please try again later.',
    recordTitle: 'Enforcement record',
    queryCode: 'Query code',
    what: 'Offence',
    category: 'Category',
    where: 'Place',
    zone: 'Zone',
    plateLabel: 'Plate',
    when: 'First seen',
    thresholdAt: 'Over the time limit',
    lastSeen: 'Last seen',
    dwell: 'Duration',
    minutes: '{n} min',
    seconds: '{n} s',
    evidenceTitle: 'Evidence photos',
    evidenceNote: 'Each photo is kept with its SHA-256 digest, so anyone can check it was not altered.',
    openFull: 'Open full size',
    decisionTitle: 'Review and outcome',
    reviewedBy: 'Reviewed and confirmed by a {role} ({time})',
    status: 'Status',
    reason: 'Reason',
    toldBy: 'Told by',
    toldNone: 'could not be told beforehand',
    recheckAt: 'Re-check at',
    recheckResult: 'Re-check result',
    caseId: 'Case number',
    nextTitle: 'What happens next',
    legalTitle: 'Legal basis',
    cameraPublished: 'The location of this camera was published on {date}; it enforces from {from}.',
    cameraUnpublished: 'The location of this camera has not been published.',
    statementsTitle: 'Statements',
    statementsNone: 'No statement yet.',
    statementItem: 'submitted {time} · {status}',
    stOpen: 'waiting for a reviewer',
    stHandled: 'handled',
    formTitle: 'State your case',
    formIntro:
      'Explain what happened or object, with photos if you wish (up to {max}, each at most {mb} MB, JPEG, PNG or WebP).',
    text: 'Your statement',
    contact: 'Contact (optional, for the answer)',
    contactHint: 'A phone number or another way to reach you; only reviewers see it',
    partyPhone: 'Mobile number the notice was sent to (the party, optional)',
    partyPhoneHint:
      "With the number the SMS notice went to, your statement uses the party's own slots, which others cannot use up; it is only checked, never shown",
    photos: 'Photos (optional)',
    submit: 'Submit',
    submitting: 'Submitting…',
    submitted: 'Submitted (number {id}). A reviewer will read it and answer.',
    textRequired: 'Please write your statement',
    textTooLong: 'The statement can be at most {max} characters long',
    tooManyPhotos: 'At most {max} photos can be attached',
    photoTooLarge: 'Photo {name} is larger than {mb} MB',
    photoType: '{name} is not a JPEG, PNG or WebP image',
    lookupTitle: 'Records of this plate',
    lookupNone: 'No record for this plate on this day notified to this number.',
    lookupPick: 'These records were found; choose one:',
    footer: 'No login needed. Keep your query code safe: whoever has it can see this record.',
    types: {
      'illegal-parking': 'Illegal parking',
      'illegal-non-motor-parking': 'Illegal non-motor vehicle parking',
      'out-of-store-vending': 'Out-of-store vending',
    },
    roles: { reviewer: 'reviewer', admin: 'administrator', staff: 'staff member' },
    channels: { sms: 'SMS', loudspeaker: 'loudspeaker at the camera' },
    statuses: {
      'awaiting-recheck': 'told, waiting for the re-check',
      corrected: 'corrected after notice',
      case: 'case filed',
      'notice-only': 'notice only',
      'not-enforcing': 'not enforced (camera not published long enough)',
      'recheck-unavailable': 're-check not done, a reviewer handles it',
    },
    reasons: {
      notified: 'the party was told',
      'corrected-after-notice': 'corrected after notice',
      'uncorrected-after-notice': 'not corrected after notice',
      'repeat-offence': 'repeat offence within the period',
      'first-offence-leniency': 'first offence: notice only',
      'no-contact': 'no registered contact: could not be told beforehand',
      'camera-not-published': 'camera location not published long enough',
      'recheck-unavailable': 'the camera could not re-check',
    },
    recheckResults: { present: 'still there', absent: 'corrected', unavailable: 'could not look' },
    roles_evidence: {
      'first-seen': 'first seen',
      threshold: 'over the time limit',
      last: 'last seen',
      crop: 'close-up',
      frame: 'original frame (unmarked)',
      recheck: 're-check',
    },
  },
};

// Limits the server enforces too; checked here first so that a mistake is explained before anything is sent.
const LIMITS = {
  maxChars: 2000,
  maxPhotos: 3,
  maxPhotoBytes: 5 * 1024 * 1024,
  types: ['image/jpeg', 'image/png', 'image/webp'],
};
const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{16}$/;

/** @type {'zh' | 'en'} */
let lang = 'zh';
try {
  lang = localStorage.getItem('party.lang') === 'en' ? 'en' : 'zh';
} catch {
  // Storage may be off: Chinese, the default.
}

/**
 * The text of `key` ('a.b' for nested texts) in the page's language, {name} filled from vars.
 * @param {string} key
 * @param {Record<string, unknown>} [vars]
 * @returns {string}
 */
function t(key, vars = {}) {
  const v = key.split('.').reduce((/** @type {any} */ o, k) => (o == null ? undefined : o[k]), STR[lang]);
  const s = typeof v === 'string' ? v : key;
  return s.replace(/\{(\w+)\}/g, (/** @type {string} */ m, /** @type {string} */ k) =>
    vars[k] !== undefined ? String(vars[k]) : m,
  );
}

/**
 * h('div.card', {attrs}, ...children): an element; children are text or nodes, never HTML.
 * @template {string} T
 * @param {T} tag
 * @param {Record<string, any> | Child} [attrs] handlers (`on...`), `dataset`, `class`; the rest are attributes
 * @param {...Child} children
 * @returns {import('../../console/public/lib.js').ElementOf<T>}
 */
function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  const add = (/** @type {Child} */ c) => {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else el.append(c instanceof Node ? c : String(c));
  };
  children.forEach(add);
  return /** @type {import('../../console/public/lib.js').ElementOf<T>} */ (el);
}

/**
 * @param {string} path
 * @param {unknown} data
 * @returns {Promise<{ status: number, body: Answer | null }>}
 */
async function postJson(path, data) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify(data),
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, body };
}

/**
 * @param {string} path
 * @returns {Promise<{ status: number, body: Answer | null }>}
 */
async function getJson(path) {
  const res = await fetch(path, {
    headers: { accept: 'application/json' },
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, body };
}

/** The server's message in the page's language. */
/**
 * @param {Answer | null} body
 * @param {string} fallback
 * @returns {string}
 */
function serverMessage(body, fallback) {
  const m = body?.messages;
  return (m && (lang === 'en' ? m.en : m['zh-CN'])) || body?.message || fallback;
}

/**
 * @param {string | number} ts
 * @param {string} timeZone the city's, which the server names
 */
function fmtTime(ts, timeZone, withSeconds = false) {
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'zh-CN', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    ...(withSeconds ? { second: '2-digit' } : {}),
    hourCycle: 'h23',
  }).format(new Date(ts));
}

/** @param {number} s */
function fmtDwell(s) {
  return s >= 120 ? t('minutes', { n: Math.round(s / 60) }) : t('seconds', { n: Math.round(s) });
}

/** @param {string} input */
function normaliseCode(input) {
  const c = input
    .normalize('NFKC')
    .replace(/[\s\-‐‑–—_.·]/g, '')
    .toUpperCase()
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
  return CROCKFORD.test(c) ? c : null;
}

// In index.html.
const main = () => /** @type {HTMLElement} */ (document.getElementById('main'));

/** @param {...Child} nodes */
function show(...nodes) {
  const m = main();
  m.replaceChildren(.../** @type {(string | Node)[]} */ (nodes.flat().filter(Boolean)));
  window.scrollTo(0, 0);
}

/** @param {string} text */
function errorBox(text) {
  return h('p.error', { role: 'alert' }, text);
}

// What the page shows now, so that switching the language redraws it without asking the server again.
/** @type {View} */
let current = { view: 'home', data: null, note: null };

function render() {
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  document.title = t('brand');
  const brand = document.querySelector('.top .brand');
  if (brand) brand.textContent = t('brand');
  const btn = document.getElementById('lang');
  if (btn) {
    btn.textContent = t('langButton');
    btn.setAttribute('lang', lang === 'en' ? 'zh-CN' : 'en');
  }
  const foot = document.getElementById('foot');
  // The source link: the AGPL-3.0 of the coco model asks that users over a network be offered the source (section 13).
  if (foot)
    foot.replaceChildren(
      h('p', t('footer')),
      h('p', h('a', { href: '/public/locations', 'data-link': '' }, t('locationsLink'))),
      h('p', h('a', { href: '/public/assets/source.html' }, t('sourceLink'))),
    );
  if (current.view === 'record') return show(recordView(/** @type {Answer} */ (current.data), current.note));
  if (current.view === 'locations') return show(locationsView(current.data));
  if (current.view === 'lookup') return show(lookupView(current.data));
  return show(homeView(current.note));
}

// ---- home: the query forms ----

/** @param {string | null} note */
function homeView(note) {
  const codeInput = h('input.code', {
    type: 'text',
    id: 'code',
    name: 'code',
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    inputmode: 'text',
    maxlength: '40',
    'aria-describedby': 'code-hint',
  });
  const codeErr = h('div', { 'data-test': 'code-error' }, note ? errorBox(note) : null);
  const codeForm = h(
    'form.card',
    {
      class: 'query',
      onsubmit: async (/** @type {SubmitEvent} */ ev) => {
        ev.preventDefault();
        const code = normaliseCode(codeInput.value);
        if (!code) return codeErr.replaceChildren(errorBox(t('codeInvalid')));
        const btn = /** @type {HTMLButtonElement} */ (codeForm.querySelector('button'));
        btn.disabled = true;
        codeErr.replaceChildren();
        try {
          const r = await getJson(`/public/records/${code}`);
          if (r.status === 200) {
            history.pushState({}, '', `/public/records/${code}`);
            current = { view: 'record', data: r.body, note: null };
            return render();
          }
          codeErr.replaceChildren(
            errorBox(
              serverMessage(r.body, r.status === 404 ? t('notFound') : r.status === 429 ? t('tooMany') : t('failed')),
            ),
          );
        } catch {
          codeErr.replaceChildren(errorBox(t('failed')));
        } finally {
          btn.disabled = false;
        }
      },
    },
    h('h1', t('homeTitle')),
    h('p.muted', t('homeIntro')),
    h('label', { for: 'code' }, t('code')),
    codeInput,
    h('p.hint', { id: 'code-hint' }, t('codeHint')),
    codeErr,
    h('button.btn.block', { type: 'submit' }, t('search')),
  );

  // The city may offer the code only (the server says so on <html>): a plate is visible to anyone on the street.
  if (document.documentElement.dataset.plateLookup !== '1') {
    setTimeout(() => codeInput.focus(), 0);
    return [codeForm, h('p', h('a', { href: '/public/locations', 'data-link': '' }, t('locationsLink')))];
  }
  const plateInput = h('input', {
    type: 'text',
    id: 'plate',
    name: 'plate',
    autocomplete: 'off',
    maxlength: '16',
    'aria-describedby': 'plate-hint',
  });
  const dateInput = h('input', { type: 'date', id: 'date', name: 'date' });
  const phoneInput = h('input', {
    type: 'tel',
    id: 'phone',
    name: 'phone',
    autocomplete: 'tel',
    inputmode: 'tel',
    maxlength: '20',
    'aria-describedby': 'phone-hint',
  });
  const plateErr = h('div');
  const plateForm = h(
    'form.card',
    {
      class: 'plate',
      onsubmit: async (/** @type {SubmitEvent} */ ev) => {
        ev.preventDefault();
        const plate = plateInput.value.trim();
        const date = dateInput.value;
        const phone = phoneInput.value.replace(/[\s-]/g, '');
        if (!plate || !/^\d{4}-\d{2}-\d{2}$/.test(date) || !/^(\+?86)?1\d{10}$/.test(phone))
          return plateErr.replaceChildren(errorBox(t('plateInvalid')));
        const btn = /** @type {HTMLButtonElement} */ (plateForm.querySelector('button'));
        btn.disabled = true;
        plateErr.replaceChildren();
        try {
          const r = await postJson('/public/lookup', { plate, date, phone });
          if (r.status === 200 && r.body?.items?.length === 1) {
            // One record: straight to it.
            const code = r.body.items[0].code;
            const rec = await getJson(`/public/records/${code}`);
            if (rec.status === 200) {
              history.pushState({}, '', `/public/records/${code}`);
              current = { view: 'record', data: rec.body, note: null };
              return render();
            }
          }
          if (r.status === 200) {
            // Not a URL of its own: the phone number is not put in the address bar or the history.
            current = { view: 'lookup', data: r.body, note: null };
            return render();
          }
          plateErr.replaceChildren(errorBox(serverMessage(r.body, r.status === 429 ? t('tooMany') : t('lookupNone'))));
        } catch {
          plateErr.replaceChildren(errorBox(t('failed')));
        } finally {
          btn.disabled = false;
        }
      },
    },
    h('h2', t('byPlate')),
    h('label', { for: 'plate' }, t('plate')),
    plateInput,
    h('p.hint', { id: 'plate-hint' }, t('plateHint')),
    h('label', { for: 'date' }, t('date')),
    dateInput,
    h('label', { for: 'phone' }, t('phone')),
    phoneInput,
    h('p.hint', { id: 'phone-hint' }, t('phoneHint')),
    plateErr,
    h('button.btn.secondary.block', { type: 'submit' }, t('search')),
  );
  const links = h('p', h('a', { href: '/public/locations', 'data-link': '' }, t('locationsLink')));
  setTimeout(() => codeInput.focus(), 0);
  return [codeForm, h('p.or', t('or')), plateForm, links];
}

// ---- a record ----

/**
 * @param {string} label
 * @param {...Child} value
 */
function fact(label, ...value) {
  return [h('dt', label), h('dd', ...value)];
}

/**
 * @param {Answer} rec
 * @param {string | null} note
 */
function recordView(rec, note) {
  const tz = rec.timeZone;
  const channels = (rec.notice.channels || [])
    .filter((/** @type {string} */ c) => c !== 'console')
    .map((/** @type {string} */ c) => t(`channels.${c}`));
  const what = h(
    'section.card',
    { 'data-test': 'record' },
    h('h1', t('recordTitle')),
    h(
      'dl.facts',
      fact(t('queryCode'), h('span.code', { 'data-test': 'code' }, rec.codeDisplay)),
      fact(t('what'), t(`types.${rec.eventType}`)),
      rec.category
        ? fact(t('category'), `${rec.category.code} ${lang === 'en' ? rec.category.en : rec.category.zh}`)
        : null,
      fact(t('where'), h('span', { 'data-test': 'place' }, rec.place.postedLocation)),
      fact(t('zone'), rec.place.zoneName),
      rec.plate ? fact(t('plateLabel'), rec.plate) : null,
      fact(t('when'), fmtTime(rec.start, tz, true)),
      fact(t('thresholdAt'), fmtTime(rec.thresholdAt, tz, true)),
      fact(t('lastSeen'), fmtTime(rec.end, tz, true)),
      fact(t('dwell'), fmtDwell(rec.dwellS)),
    ),
  );

  const evidence = h(
    'section.card',
    h('h2', t('evidenceTitle')),
    h(
      'ul.evidence',
      rec.evidence.map((/** @type {Answer} */ img) =>
        h(
          'li',
          h(
            'figure',
            h(
              'a',
              { href: img.publicUrl, target: '_blank', rel: 'noopener noreferrer', title: t('openFull') },
              h('img', {
                src: img.publicUrl,
                alt: t(`roles_evidence.${img.role}`),
                width: img.width,
                height: img.height,
                loading: 'lazy',
                'data-role': img.role,
              }),
            ),
            h(
              'figcaption',
              `${t(`roles_evidence.${img.role}`)} · ${fmtTime(img.capturedAt, tz, true)}`,
              h('div.hash', `SHA-256 ${img.sha256}`),
            ),
          ),
        ),
      ),
    ),
    h('p.small.muted', t('evidenceNote')),
  );

  const n = rec.notice;
  const decision = h(
    'section.card',
    { 'data-test': 'decision' },
    h('h2', t('decisionTitle')),
    h('p', t('reviewedBy', { role: t(`roles.${rec.review.byRole}`), time: fmtTime(rec.review.at, tz) })),
    h(
      'dl.facts',
      fact(t('status'), h(`span.status.${n.status}`, { 'data-test': 'status' }, t(`statuses.${n.status}`))),
      fact(t('reason'), t(`reasons.${n.reason}`)),
      fact(t('toldBy'), channels.length ? channels.join('、') : t('toldNone')),
      n.recheckAt ? fact(t('recheckAt'), fmtTime(n.recheckAt, tz)) : null,
      n.recheck?.result ? fact(t('recheckResult'), t(`recheckResults.${n.recheck.result}`)) : null,
      n.caseId ? fact(t('caseId'), n.caseId) : null,
    ),
  );

  const next = h(
    'section.card',
    { 'data-test': 'next' },
    h('h2', t('nextTitle')),
    h('p', lang === 'en' ? rec.whatNext.en : rec.whatNext.zh),
  );

  const legal = h(
    'section.card.legal',
    { 'data-test': 'legal' },
    h('h2', t('legalTitle')),
    rec.legalBasis.map((/** @type {{ zh: string, en: string }} */ p) => h('p', lang === 'en' ? p.en : p.zh)),
    h(
      'p.small.muted',
      rec.camera.publishedAt
        ? t('cameraPublished', { date: rec.camera.publishedAt, from: rec.camera.enforcingFrom ?? '—' })
        : t('cameraUnpublished'),
    ),
  );

  const statements = h(
    'section.card',
    { 'data-test': 'statements' },
    h('h2', t('statementsTitle')),
    rec.statements.length === 0
      ? h('p.muted', t('statementsNone'))
      : h(
          'ul.plain',
          rec.statements.map((/** @type {Answer} */ s) =>
            h(
              'li',
              { 'data-id': s.id },
              t('statementItem', {
                time: fmtTime(s.submittedAt, tz),
                status: s.status === 'handled' ? t('stHandled') : t('stOpen'),
              }),
            ),
          ),
        ),
  );

  return [
    what,
    evidence,
    decision,
    next,
    legal,
    statements,
    statementForm(rec, note),
    h('p', h('a', { href: '/public/', 'data-link': '' }, t('back'))),
  ];
}

/**
 * @param {Answer} rec
 * @param {string | null} note
 */
function statementForm(rec, note) {
  const mb = LIMITS.maxPhotoBytes / 1048576;
  const text = h('textarea', { id: 'st-text', name: 'text', maxlength: String(LIMITS.maxChars), required: true });
  const counter = h('span.counter', `0 / ${LIMITS.maxChars}`);
  text.addEventListener('input', () => {
    counter.textContent = `${[...text.value].length} / ${LIMITS.maxChars}`;
  });
  const contact = h('input', {
    type: 'text',
    id: 'st-contact',
    name: 'contact',
    maxlength: '100',
    autocomplete: 'tel',
    'aria-describedby': 'st-contact-hint',
  });
  const partyPhone = h('input', {
    type: 'tel',
    id: 'st-phone',
    name: 'phone',
    maxlength: '20',
    inputmode: 'tel',
    autocomplete: 'tel',
    'aria-describedby': 'st-phone-hint',
  });
  const files = h('input', {
    type: 'file',
    id: 'st-photos',
    name: 'photos',
    accept: LIMITS.types.join(','),
    multiple: true,
  });
  const previews = h('div.previews');
  const msg = h('div', { 'data-test': 'statement-message', 'aria-live': 'polite' }, note ? h('p.ok', note) : null);
  /** @type {string[]} */
  const urls = [];
  files.addEventListener('change', () => {
    urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    previews.replaceChildren(
      ...[...(files.files ?? [])].slice(0, LIMITS.maxPhotos).map((f) => {
        const u = URL.createObjectURL(f);
        urls.push(u);
        // A file the browser cannot show is no photo: no broken thumbnail (the check below says why).
        return h('img', {
          src: u,
          alt: f.name,
          onerror: (/** @type {Event} */ ev) => /** @type {Element} */ (ev.target).remove(),
        });
      }),
    );
    const err = checkPhotos([...(files.files ?? [])]);
    msg.replaceChildren(err ? errorBox(err) : '');
  });

  const form = h(
    'form.card',
    {
      class: 'statement',
      'data-test': 'statement-form',
      onsubmit: async (/** @type {SubmitEvent} */ ev) => {
        ev.preventDefault();
        const body = text.value.trim();
        if (!body) return msg.replaceChildren(errorBox(t('textRequired')));
        if ([...body].length > LIMITS.maxChars)
          return msg.replaceChildren(errorBox(t('textTooLong', { max: LIMITS.maxChars })));
        const photos = [...(files.files ?? [])];
        const err = checkPhotos(photos);
        if (err) return msg.replaceChildren(errorBox(err));
        const fd = new FormData();
        fd.append('text', body);
        if (contact.value.trim()) fd.append('contact', contact.value.trim());
        if (partyPhone.value.trim()) fd.append('phone', partyPhone.value.trim());
        for (const p of photos) fd.append('photos', p, p.name);
        const btn = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
        btn.disabled = true;
        btn.textContent = t('submitting');
        msg.replaceChildren();
        try {
          const res = await fetch(`/public/records/${rec.code}/statements`, {
            method: 'POST',
            body: fd,
            headers: { accept: 'application/json' },
            credentials: 'omit',
          });
          let out = null;
          try {
            out = await res.json();
          } catch {
            out = null;
          }
          if (res.status === 201) {
            const okText = t('submitted', { id: /** @type {Answer} */ (out).id });
            const again = await getJson(`/public/records/${rec.code}`);
            current = { view: 'record', data: again.status === 200 ? again.body : rec, note: okText };
            render();
            document.querySelector('[data-test=statement-message]')?.scrollIntoView({ block: 'center' });
            return;
          }
          msg.replaceChildren(errorBox(serverMessage(out, t('failed'))));
        } catch {
          msg.replaceChildren(errorBox(t('failed')));
        } finally {
          btn.disabled = false;
          btn.textContent = t('submit');
        }
      },
    },
    h('h2', t('formTitle')),
    h('p.muted', t('formIntro', { max: LIMITS.maxPhotos, mb })),
    h('label', { for: 'st-text' }, t('text'), counter),
    text,
    h('label', { for: 'st-contact' }, t('contact')),
    contact,
    h('p.hint', { id: 'st-contact-hint' }, t('contactHint')),
    h('label', { for: 'st-phone' }, t('partyPhone')),
    partyPhone,
    h('p.hint', { id: 'st-phone-hint' }, t('partyPhoneHint')),
    h('label', { for: 'st-photos' }, t('photos')),
    files,
    previews,
    msg,
    h('button.btn.block', { type: 'submit' }, t('submit')),
  );
  return form;
}

/** @param {File[]} photos */
function checkPhotos(photos) {
  const mb = LIMITS.maxPhotoBytes / 1048576;
  if (photos.length > LIMITS.maxPhotos) return t('tooManyPhotos', { max: LIMITS.maxPhotos });
  for (const p of photos) {
    // The browser's type comes from the file name; the server checks the content.
    if (p.type && !LIMITS.types.includes(p.type)) return t('photoType', { name: p.name });
    if (p.size > LIMITS.maxPhotoBytes) return t('photoTooLarge', { name: p.name, mb });
  }
  return null;
}

// ---- look-up by plate: several records ----

/** @param {Answer | null} data */
function lookupView(data) {
  const items = data?.items ?? [];
  return [
    h(
      'section.card',
      h('h1', t('lookupTitle')),
      items.length === 0
        ? h('p', t('lookupNone'))
        : [
            h('p.muted', t('lookupPick')),
            h(
              'ul.plain',
              items.map((/** @type {Answer} */ it) =>
                h(
                  'li',
                  h(
                    'a.rowlink',
                    { href: `/public/records/${it.code}`, 'data-link': '' },
                    `${t(`types.${it.eventType}`)} · ${it.place} · ${fmtTime(it.start, /** @type {Answer} */ (data).timeZone)}`,
                  ),
                ),
              ),
            ),
          ],
    ),
    h('p', h('a', { href: '/public/', 'data-link': '' }, t('back'))),
  ];
}

// ---- locations ----

/** @param {Answer | null} data */
function locationsView(data) {
  if (!data) return [h('p', t('loading'))];
  const today = new Intl.DateTimeFormat('sv-SE', {
    timeZone: data.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());
  const items = data.items ?? [];
  return [
    h(
      'section.card',
      { 'data-test': 'locations' },
      h('h1', t('locationsTitle')),
      h('p.muted', t('locationsIntro', { days: data.publicationDays })),
      items.length === 0
        ? h('p', t('noLocations'))
        : h(
            'ul.plain',
            items.map((/** @type {Answer} */ l) =>
              h(
                'li.loc',
                { 'data-camera': l.cameraId },
                h('div.place', l.place),
                h(
                  'div',
                  l.enforces.map((/** @type {string} */ e) => h('span.tag', t(`types.${e}`))),
                ),
                h(
                  'dl.facts.small',
                  fact(t('district'), l.district),
                  fact(t('camera'), l.cameraId),
                  fact(t('gridCell'), l.gridCell),
                  fact(t('publishedAt'), l.publishedAt),
                  fact(
                    t('enforcingFrom'),
                    `${l.enforcingFrom}（${l.enforcingFrom <= today ? t('enforcingNow') : t('notYet')}）`,
                  ),
                ),
              ),
            ),
          ),
    ),
    h('p', h('a', { href: '/public/', 'data-link': '' }, t('back'))),
  ];
}

// ---- routing by path ----

/** @param {boolean} first the page as the server sent it (its data-status is about this path) */
async function route(first) {
  const path = location.pathname.replace(/\/+$/, '') || '/public';
  const status = first ? document.documentElement.dataset.status : 'ok';
  const rec = /^\/public\/records\/([^/]+)$/.exec(path);
  if (status === 'too-many') {
    current = { view: 'home', data: null, note: t('tooMany') };
    return render();
  }
  if (rec) {
    if (status === 'not-found') {
      current = { view: 'home', data: null, note: t('notFound') };
      return render();
    }
    show(h('p', t('loading')));
    const r = await getJson(`/public/records/${rec[1]}`);
    current =
      r.status === 200
        ? { view: 'record', data: r.body, note: null }
        : { view: 'home', data: null, note: serverMessage(r.body, t('notFound')) };
    return render();
  }
  if (path === '/public/locations') {
    current = { view: 'locations', data: null, note: null };
    render();
    const r = await getJson('/public/locations');
    current =
      r.status === 200
        ? { view: 'locations', data: r.body, note: null }
        : { view: 'home', data: null, note: serverMessage(r.body, t('failed')) };
    return render();
  }
  current = { view: 'home', data: null, note: null };
  return render();
}

document.addEventListener('click', (ev) => {
  const a = ev.target instanceof Element ? ev.target.closest('a[data-link]') : null;
  if (!a || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  history.pushState({}, '', a.getAttribute('href'));
  route(false);
});
window.addEventListener('popstate', () => route(false));
document.getElementById('lang')?.addEventListener('click', () => {
  lang = lang === 'en' ? 'zh' : 'en';
  try {
    localStorage.setItem('party.lang', lang);
  } catch {
    // Not remembered; fine.
  }
  render();
});
route(true);
