/*! LendBridge checkout widget: <lendbridge-checkout>. Plain JS, no build step, no dependencies.
 * Works under a strict Content-Security-Policy: no inline script, no eval, no style
 * attributes (styles go through a constructable stylesheet adopted by the shadow root).
 * Talks only to /widget/v1 with the partner's publishable key and the session's client
 * secret; a secret key given by mistake is refused before any request is made.
 */
(() => {
  'use strict';
  if (!window.customElements || customElements.get('lendbridge-checkout')) return;

  const SCRIPT = document.currentScript;
  const SCRIPT_ORIGIN = SCRIPT && SCRIPT.src ? new URL(SCRIPT.src).origin : '';

  // -- texts --------------------------------------------------------------------------------
  const ZH = {
    title: '分期付款', loading: '正在加载…', close: '关闭', testMode: '测试模式',
    previewTitle: '分期方案', perMonth: (n) => `${n} 期 × `, apr: '年化利率（APR）', aprFrom: '年化利率（APR）低至', regulator: (n) => `监管投诉热线 ${n}`,
    totalCost: '总利息及费用', totalPayment: '还款总额', lender: '贷款机构', custody: '资金存管银行',
    complaints: '投诉渠道', indicative: '以上为参考报价，最终以审批结果为准。', apply: '申请分期',
    unavailable: '该课程暂不支持分期付款。',
    detailsTitle: '填写申请信息', name: '姓名', idNumber: '身份证号', phone: '手机号',
    bankCard: '还款银行卡（选填）', bankCardHint: '每期到期日从这张卡自动扣款',
    idHint: '18 位，最后一位可能是 X', consentsLegend: '授权与同意', readText: '查看全文',
    consent: { credit_bureau_query: '我授权查询本人征信信息（必选）', data_processing: '我同意个人信息处理规则（必选）', alt_data: '我授权查询运营商等替代数据（可选，有助于审批）' },
    sendCode: '获取验证码', sending: '正在发送验证码…',
    otpTitle: '输入短信验证码', otpSent: (p) => `验证码已发送至 ${p}`, code: '6 位验证码',
    verify: '验证并提交申请', resend: '重新发送验证码', resendIn: (s) => `${s} 秒后可重新发送`,
    changePhone: '修改手机号', submitting: '正在提交申请…', verifying: '正在验证…',
    identityTitle: '人脸识别', identityText: '为确认是您本人在申请，请完成人脸识别。', identitySimulated: '测试模式：人脸识别由模拟器完成，不会打开摄像头。',
    identityStart: '开始人脸识别', identityRunning: '正在识别…',
    approvedTitle: '审批通过', chooseOffer: '选择分期方案', offerLine: (n, a) => `${n} 期，每期 ${a}`,
    cont: '继续', reviewTitle: '申请审核中', reviewText: '您的申请需要人工审核，结果会尽快通知您。',
    declinedTitle: '暂时无法提供贷款', declinedText: '很抱歉，本次申请未获批准。您可以选择其他付款方式。',
    agreementTitle: '借款合同', agreementText: '合同全文（中英文）', hash: '合同摘要（SM3）',
    agree: '我已阅读并同意借款合同', sign: '签署合同', signing: '正在签署…',
    signedTitle: '签署成功', paying: '正在放款…', paid: (a, p) => `${a} 已支付给 ${p}`, paidGeneric: '放款已完成',
    payFailed: '放款遇到问题，我们会尽快处理并通知您。', backTo: '返回商户页面', done: '完成',
    repayTitle: '我的还款', outstanding: '剩余本金', nextDue: '下期应还', dueOn: (d) => `${d} 到期`, noneDue: '暂无待还款项',
    autodebit: (b, n) => `自动扣款：${b} 尾号 ${n} 的银行卡，每期到期日扣款`, noAutodebit: '未绑定自动扣款银行卡，请按期还款。', schedule: '还款计划',
    cols: ['期数', '到期日', '本金', '利息', '应还', '状态'], st: { paid: '已还', pending: '待还', overdue: '逾期', charged_off: '已核销' },
    dueNow: '今日应还（含罚息）', payNow: (a) => `立即还款 ${a}`, debiting: '正在从银行卡扣款…',
    payReceived: '还款成功，谢谢！', payFailedFunds: '扣款未成功：银行卡余额不足。请充值后再试。',
    payFailedOther: '扣款未成功，请稍后再试或联系我们。',
    fix: '请修正标出的内容',
    e: {
      required: '请填写此项', name_required: '请填写姓名',
      nothing_due: '今日暂无应还款项', mandate_missing: '尚未授权从银行卡扣款',
      id_number_length: '身份证号应为 18 位', id_number_format: '身份证号应为 17 位数字加 1 位数字或 X',
      id_number_birth_date: '身份证号中的出生日期无效', id_number_region: '身份证号的地区码无效',
      id_number_check_digit: '身份证号校验位不正确，请核对', phone_format: '请输入有效的中国大陆手机号',
      phone_length: '手机号应为 11 位数字', bank_card_format: '银行卡号只能包含数字', bank_card_length: '银行卡号应为 16 至 19 位',
      bank_card_check_digit: '银行卡号有误，请核对', phone_unreachable: '该号码无法接收短信，请换一个号码',
      phone_not_verified: '请先验证该手机号', identity_mismatch: '姓名与身份证号不一致', consent_required: '请勾选此项以继续',
      otp_format: '验证码为 6 位数字', otp_incorrect: (n) => `验证码不正确，还可尝试 ${n} 次`,
      otp_expired: '验证码已过期，请重新获取', otp_attempts_exceeded: '错误次数过多，请重新获取验证码',
      otp_send_limit: '发送次数过多，请刷新页面重新开始', rate_limited: '操作太频繁，请稍后再试',
      agreement_not_accepted: '请先勾选同意借款合同', agreement_changed: '合同内容已更新，请重新阅读后签署',
      widget_session_expired: '页面已过期，请刷新后重新开始', widget_session_used: '本次申请已提交',
      origin_not_allowed: '当前网站未获准使用分期服务', sms_unavailable: '短信暂时无法发送，请稍后再试',
      identity_error: '人脸识别未完成，请重试', provider_unavailable: '人脸识别服务暂不可用，请稍后再试',
      config: '分期服务配置有误，请联系商户', network: '网络异常，请检查网络后重试', generic: '出错了，请稍后重试',
    },
  };
  const EN = {
    title: 'Pay in instalments', loading: 'Loading…', close: 'Close', testMode: 'Test mode',
    previewTitle: 'Your instalment plan', perMonth: (n) => `${n} × `, apr: 'APR', aprFrom: 'APR from', regulator: (n) => `regulator hotline ${n}`,
    totalCost: 'Total interest and fees', totalPayment: 'Total to repay', lender: 'Lender', custody: 'Custody bank',
    complaints: 'Complaints', indicative: 'Indicative quote; the final terms depend on the decision.', apply: 'Apply',
    unavailable: 'Instalments are not available for this course.',
    detailsTitle: 'Your details', name: 'Full name (as on your ID card)', idNumber: 'Chinese ID number', phone: 'Mobile number',
    bankCard: 'Bank card for repayments (optional)', bankCardHint: 'Each instalment is debited from this card on its due date',
    idHint: '18 characters; the last one may be X', consentsLegend: 'Consents', readText: 'Read the full text',
    consent: { credit_bureau_query: 'I authorise the credit bureau check (required)', data_processing: 'I agree to the processing of my personal data (required)', alt_data: 'I authorise alternative data checks such as telecom data (optional, helps the decision)' },
    sendCode: 'Send code', sending: 'Sending the code…',
    otpTitle: 'Enter the code we texted you', otpSent: (p) => `We sent a 6-digit code to ${p}`, code: '6-digit code',
    verify: 'Verify and apply', resend: 'Resend code', resendIn: (s) => `Resend in ${s} s`,
    changePhone: 'Change number', submitting: 'Submitting your application…', verifying: 'Checking the code…',
    identityTitle: 'Face verification', identityText: 'To make sure it is really you applying, we verify your face against your ID.', identitySimulated: 'Test mode: a simulator does the check; the camera is not used.',
    identityStart: 'Start face verification', identityRunning: 'Verifying…',
    approvedTitle: 'You are approved', chooseOffer: 'Choose your plan', offerLine: (n, a) => `${n} monthly payments of ${a}`,
    cont: 'Continue', reviewTitle: 'Your application is being reviewed', reviewText: 'A person needs to look at your application; we will let you know soon.',
    declinedTitle: 'We cannot offer you a loan right now', declinedText: 'Sorry, your application was not approved. You can choose another way to pay.',
    agreementTitle: 'Loan agreement', agreementText: 'Agreement text (Chinese and English)', hash: 'Agreement fingerprint (SM3)',
    agree: 'I have read and agree to the loan agreement', sign: 'Sign the agreement', signing: 'Signing…',
    signedTitle: 'Agreement signed', paying: 'Paying out the loan…', paid: (a, p) => `${a} has been paid to ${p}`, paidGeneric: 'The loan has been paid out',
    payFailed: 'The payout ran into a problem; we will sort it out and let you know.', backTo: 'Back to the shop', done: 'Done',
    repayTitle: 'Your repayments', outstanding: 'Outstanding principal', nextDue: 'Next payment', dueOn: (d) => `due ${d}`, noneDue: 'Nothing is due',
    autodebit: (b, n) => `Auto-debit: ${b} card ending ${n}, on each due date`, noAutodebit: 'No card on file for automatic debits; please pay on time.', schedule: 'Repayment schedule',
    cols: ['No.', 'Due', 'Principal', 'Interest', 'Amount', 'Status'], st: { paid: 'paid', pending: 'due', overdue: 'overdue', charged_off: 'written off' },
    dueNow: 'Due today (with late charges)', payNow: (a) => `Pay ${a} now`, debiting: 'Debiting your card…',
    payReceived: 'Payment received. Thank you!', payFailedFunds: 'The debit did not go through: not enough money on the card. Top it up and try again.',
    payFailedOther: 'The debit did not go through; please try again later or contact us.',
    fix: 'Please fix the highlighted fields',
    e: {
      required: 'This field is required', name_required: 'Enter your full name',
      nothing_due: 'Nothing is due today', mandate_missing: 'No card is authorised for debits',
      id_number_length: 'An ID number has 18 characters', id_number_format: 'Use 17 digits followed by a digit or X',
      id_number_birth_date: 'The birth date in this ID number is not valid', id_number_region: 'The region code of this ID number is not valid',
      id_number_check_digit: 'The last character does not match the number; please check it', phone_format: 'Enter a mainland China mobile number',
      phone_length: 'A mobile number has 11 digits', bank_card_format: 'A card number has digits only', bank_card_length: 'A card number has 16 to 19 digits',
      bank_card_check_digit: 'This card number is not valid; please check it', phone_unreachable: 'This number cannot receive text messages; use another one',
      phone_not_verified: 'Verify this number first', identity_mismatch: 'The name and the ID number do not match', consent_required: 'Tick this box to continue',
      otp_format: 'The code has 6 digits', otp_incorrect: (n) => `That code is not right; ${n} tries left`,
      otp_expired: 'The code has expired; ask for a new one', otp_attempts_exceeded: 'Too many wrong codes; ask for a new one',
      otp_send_limit: 'Too many codes sent; reload the page to start again', rate_limited: 'Too many attempts; wait a moment',
      agreement_not_accepted: 'Tick the box to sign the agreement', agreement_changed: 'The agreement changed; read it again before signing',
      widget_session_expired: 'This page has expired; reload it to start again', widget_session_used: 'This application was already submitted',
      origin_not_allowed: 'This website may not use the instalment service', sms_unavailable: 'Text messages cannot be sent right now; try again shortly',
      identity_error: 'The face check did not finish; please try again', provider_unavailable: 'Face verification is unavailable right now; try again later',
      config: 'The instalment service is not set up correctly; contact the shop', network: 'Network problem; check your connection and try again', generic: 'Something went wrong; please try again',
    },
  };
  const TEXTS = { 'zh-CN': ZH, en: EN };

  const CSS = `
:host{display:block;max-width:480px;color:#1d2330;font:15px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif}
:host([hidden]){display:none}
.card{border:1px solid #d5dae3;border-radius:12px;background:#fff;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.06)}
header{display:flex;justify-content:space-between;align-items:center;gap:8px;margin-bottom:8px;color:#4a5568;font-size:13px}
.badge{background:#fff4d6;color:#7a4d00;border-radius:6px;padding:1px 6px;margin-left:6px;font-weight:600}
h2{font-size:20px;margin:0 0 12px;line-height:1.3}
h2:focus{outline:none}
.big{font-size:26px;font-weight:700;margin:4px 0}
.muted{color:#5a6478;font-size:13px}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:12px 0}
dt{color:#5a6478}dd{margin:0;text-align:right}
.field{margin:14px 0}
label,legend{font-weight:600}
.field label{display:block;margin-bottom:4px}
input[type=text],input[type=tel]{width:100%;box-sizing:border-box;padding:10px;border:1px solid #8a94a8;border-radius:8px;font:inherit;background:#fff;color:inherit}
input[aria-invalid=true]{border-color:#c81e1e;border-width:2px}
fieldset{border:0;padding:0;margin:14px 0}
.check{display:flex;gap:8px;align-items:flex-start;margin:8px 0}
.check input{margin-top:4px;width:18px;height:18px;flex:none}
.check label{font-weight:400}
details{margin:2px 0 8px 26px;font-size:13px;color:#4a5568}
.err{color:#c81e1e;font-size:13px;margin:4px 0 0}
.err:empty{display:none}
.alert{background:#fdecec;color:#8a1c1c;border-radius:8px;padding:8px 12px;margin:12px 0}
.alert:empty{display:none}
.status{color:#4a5568;margin:8px 0 0}
.status:empty{display:none}
button{font:inherit;cursor:pointer;border-radius:8px;padding:10px 16px;border:1px solid transparent}
.primary{background:#1a56db;color:#fff;width:100%;font-weight:600;margin-top:8px}
.primary:disabled{background:#7d97d6;cursor:progress}
.link{background:none;color:#1a56db;text-decoration:underline;padding:4px 0;margin-right:16px}
.link:disabled{color:#5a6478;text-decoration:none;cursor:default}
.x{background:none;font-size:20px;line-height:1;padding:2px 8px;color:#4a5568}
:focus-visible{outline:3px solid #d97706;outline-offset:2px}
.doc{max-height:220px;overflow:auto;border:1px solid #d5dae3;border-radius:8px;padding:12px;white-space:pre-wrap;font-size:13px;background:#f8f9fb}
.hash{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all;color:#4a5568}
.offer{display:flex;gap:10px;align-items:flex-start;border:1px solid #d5dae3;border-radius:8px;padding:10px;margin:8px 0}
.offer input{margin-top:5px;width:18px;height:18px;flex:none}
.offer label{font-weight:400}
.ok{color:#0f7b3f;font-weight:600}
table{width:100%;border-collapse:collapse;font-size:13px;margin-top:8px}
caption{text-align:left;font-weight:600;margin-bottom:4px}
th,td{padding:4px;border-bottom:1px solid #e3e7ef;text-align:right}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
`;

  let sheet = null;
  function adopt(root) {
    // Constructable stylesheets are not subject to style-src; a <style> element is the
    // fallback for browsers without them (it needs 'unsafe-inline' under a strict CSP).
    try {
      if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
      root.adoptedStyleSheets = [sheet];
    } catch (_) {
      const style = document.createElement('style');
      style.textContent = CSS;
      root.append(style);
    }
  }

  // -- helpers ------------------------------------------------------------------------------
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'checked' || k === 'disabled') el[k] = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) el.append(kid);
    return el;
  }

  // Money is integer fen: format without floating point.
  function yuan(fen) {
    if (fen == null) return '';
    const neg = fen < 0, f = Math.abs(fen);
    const whole = String(Math.floor(f / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '-' : '') + '¥' + whole + '.' + String(f % 100).padStart(2, '0');
  }

  // A decimal rate string ("0.1234567890") as a percentage with two places, half up.
  function pct(rate) {
    if (rate == null) return '';
    const [i, f = ''] = String(rate).split('.');
    const frac = f.padEnd(5, '0');
    let n = BigInt(i + frac.slice(0, 4));
    if (+frac[4] >= 5) n += 1n;
    const s = n.toString().padStart(3, '0');
    return s.slice(0, -2) + '.' + s.slice(-2) + '%';
  }

  // -- validation (the server's rules: identity/validators.py) -------------------------------
  const PROVINCES = new Set([11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82]);
  const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const norm = (v) => String(v || '').normalize('NFKC').replace(/\s+/g, '').toUpperCase();

  function checkIdNumber(raw) {
    const v = norm(raw);
    if (!v) return 'required';
    if (v.length !== 18) return 'id_number_length';
    if (!/^\d{17}[\dX]$/.test(v)) return 'id_number_format';
    const y = +v.slice(6, 10), m = +v.slice(10, 12), d = +v.slice(12, 14);
    const born = new Date(Date.UTC(y, m - 1, d));
    if (y < 1800 || born.getUTCFullYear() !== y || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d ||
        born.getTime() > Date.now()) return 'id_number_birth_date';
    if (!PROVINCES.has(+v.slice(0, 2))) return 'id_number_region';
    let sum = 0;
    for (let k = 0; k < 17; k++) sum += +v[k] * WEIGHTS[k];
    if ('10X98765432'[sum % 11] !== v[17]) return 'id_number_check_digit';
    return null;
  }

  function normPhone(raw) {
    let v = String(raw || '').normalize('NFKC').replace(/[\s\-()]+/g, '');
    if (v.startsWith('+86')) v = v.slice(3);
    else if (v.startsWith('0086')) v = v.slice(4);
    else if (v.startsWith('86') && v.length === 13) v = v.slice(2);
    return v;
  }

  function checkPhone(raw) {
    const v = normPhone(raw);
    if (!String(raw || '').trim()) return 'required';
    if (!/^\d+$/.test(v)) return 'phone_format';
    if (v.length !== 11) return 'phone_length';
    if (!/^1[3-9]\d{9}$/.test(v)) return 'phone_format';
    return null;
  }

  function checkBankCard(raw) {
    const v = String(raw || '').normalize('NFKC').replace(/[\s-]+/g, '');
    if (!v) return null; // optional
    if (!/^\d+$/.test(v)) return 'bank_card_format';
    if (v.length < 16 || v.length > 19) return 'bank_card_length';
    let sum = 0;
    for (let k = 0; k < v.length; k++) {
      let d = +v[v.length - 1 - k];
      if (k % 2) d = d > 4 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return sum % 10 ? 'bank_card_check_digit' : null;
  }

  const checkName = (v) => (String(v || '').trim() ? null : 'name_required');
  const checkCode = (v) => (/^\d{6}$/.test(String(v || '').trim()) ? null : (String(v || '').trim() ? 'otp_format' : 'required'));

  async function fingerprint() {
    const parts = [navigator.userAgent, navigator.language, navigator.platform, navigator.hardwareConcurrency,
      screen.width + 'x' + screen.height + 'x' + screen.colorDepth, Intl.DateTimeFormat().resolvedOptions().timeZone,
      navigator.maxTouchPoints].join('|');
    if (window.crypto && crypto.subtle) {
      const buf = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(parts));
      return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('').slice(0, 40);
    }
    let x = 0x811c9dc5; // FNV-1a where SubtleCrypto is missing (insecure contexts)
    for (let k = 0; k < parts.length; k++) { x ^= parts.charCodeAt(k); x = Math.imul(x, 16777619) >>> 0; }
    return 'fnv' + x.toString(16).padStart(8, '0') + parts.length.toString(16);
  }

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      super((body && body.detail) || 'HTTP ' + status);
      this.status = status;
      this.code = body && body.code;
      this.param = body && body.param;
      this.retryAfter = retryAfter;
    }
  }

  // -- the element --------------------------------------------------------------------------
  class LendBridgeCheckout extends HTMLElement {
    static get observedAttributes() { return ['session-secret', 'publishable-key', 'locale']; }

    constructor() {
      super();
      this._root = this.attachShadow({ mode: 'open' });
      adopt(this._root);
      // Focus follows the steps only once the borrower is using the widget: loading the page
      // must not pull focus away from wherever the host page put it.
      this._root.addEventListener('focusin', () => { this._engaged = true; });
      this._timers = [];
      this._gen = 0;
    }

    connectedCallback() { this._start(); }
    disconnectedCallback() { this._stopTimers(); this._gen++; }
    attributeChangedCallback(name, old, value) { if (this.isConnected && old !== null && old !== value) this._start(); }

    _stopTimers() { this._timers.forEach(clearInterval); this._timers = []; }

    get _base() {
      return (this.getAttribute('api-base') || SCRIPT_ORIGIN || location.origin).replace(/\/+$/, '');
    }

    _lang(session) {
      const pick = (v) => (!v ? null : /^zh/i.test(v) ? 'zh-CN' : /^en/i.test(v) ? 'en' : null);
      this.lang_ = pick(this.getAttribute('locale')) || pick(document.documentElement.lang) ||
        pick(session && session.locale) || 'zh-CN';
      this.t = TEXTS[this.lang_];
    }

    async _api(method, path, body) {
      const headers = {
        Authorization: 'Bearer ' + this._pk,
        'LendBridge-Widget-Session': this._secret,
      };
      if (body) headers['Content-Type'] = 'application/json';
      let res;
      try {
        res = await fetch(this._base + '/widget/v1' + path, {
          method, headers, body: body ? JSON.stringify(body) : undefined, credentials: 'omit', mode: 'cors',
        });
      } catch (_) {
        throw new ApiError(0, { code: 'network' });
      }
      let data = null;
      try { data = await res.json(); } catch (_) { data = null; }
      if (!res.ok) throw new ApiError(res.status, data, res.headers.get('Retry-After'));
      return data;
    }

    _emit(name, detail) {
      return this.dispatchEvent(new CustomEvent('lendbridge:' + name, {
        bubbles: true, composed: true, cancelable: name === 'closed', detail: detail || {},
      }));
    }

    _msg(code, fallback) {
      const e = this.t.e;
      if (code && typeof e[code] === 'string') return e[code];
      if (code && /^id_number_/.test(code)) return e.id_number_format;
      if (code && /^phone_/.test(code)) return e.phone_format;
      if (code && /^bank_card_/.test(code)) return e.bank_card_check_digit;
      return fallback && this.lang_ === 'en' ? fallback : e.generic;
    }

    // -- frame ------------------------------------------------------------------------------
    _frame() {
      const t = this.t, s = this._s || {};
      this._root.replaceChildren();
      adopt(this._root);
      this._main = h('div', { class: 'body' });
      this._status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
      const brand = h('span', { text: (s.partner_name ? s.partner_name + ' · ' : '') + t.title },
        s.livemode === false ? h('span', { class: 'badge', text: t.testMode }) : null);
      this._root.append(h('section', { class: 'card', 'aria-label': t.title, lang: this.lang_ },
        h('header', {}, brand,
          h('button', { class: 'x', type: 'button', 'aria-label': t.close, onclick: () => this._close(), text: '×' })),
        this._main, this._status));
    }

    _say(text) { this._status.textContent = text || ''; }

    _show(...nodes) {
      this._stopTimers();
      this._say('');
      this._main.replaceChildren(...nodes.filter((n) => n != null));
      const heading = this._main.querySelector('h2');
      if (heading) {
        heading.setAttribute('tabindex', '-1');
        if (this._engaged) heading.focus();
      }
    }

    _close() {
      if (this._emit('closed', { session: this._s && this._s.id })) this.hidden = true;
    }

    _fatal(err) {
      const code = err && err.code;
      this._show(h('h2', { text: this.t.title }),
        h('p', { class: 'alert', role: 'alert', text: this._msg(code, err && err.message) }));
    }

    // -- start ------------------------------------------------------------------------------
    async _start() {
      const gen = ++this._gen;
      this._pk = (this.getAttribute('publishable-key') || '').trim();
      this._secret = (this.getAttribute('session-secret') || '').trim();
      this._s = null;
      this._lang(null);
      this._frame();
      if (!/^pk_(test|live)_/.test(this._pk) || !this._secret) {
        // Never send a secret key (sk_...) anywhere: only publishable keys belong in a page.
        console.error('lendbridge-checkout: set publishable-key (pk_test_… / pk_live_…) and session-secret');
        return this._fatal({ code: 'config' });
      }
      this._say(this.t.loading);
      try {
        const s = await this._api('GET', '/session');
        if (gen !== this._gen) return;
        this._s = s;
        this._lang(s);
        this._frame();
        if (s.mode === 'repay') return await this._repay();
        if (s.stage === 'start' || s.stage === 'phone_verified') return await this._preview();
        return await this._resume();
      } catch (err) {
        if (gen === this._gen) this._fatal(err);
      }
    }

    async _resume() {
      if (this._s.stage === 'identified') {
        const check = await this._api('GET', '/identity_check');
        return check.required ? this._identity() : this._busyApply();
      }
      const r = await this._api('GET', '/result');
      if (r.stage === 'accepted') return this._agreement(await this._api('GET', '/agreement'));
      if (r.stage === 'signed') return this._signed(r);
      return this._decision(r.decision || { status: r.outcome, offers: [] }, true);
    }

    async _busyApply() {
      this._show(h('h2', { text: this.t.detailsTitle }));
      await this._apply();
    }

    // -- offer preview ----------------------------------------------------------------------
    async _preview() {
      const t = this.t, s = this._s;
      let q;
      try {
        q = await this._api('GET', '/offer_preview');
      } catch (err) {
        if (err.status === 422 || err.status === 404) {
          return this._show(h('h2', { text: t.previewTitle }), h('p', { class: 'alert', text: t.unavailable }));
        }
        throw err;
      }
      const c = q.complaint_channel || {};
      const complaint = [c.phone, c.email, c.url, c.regulator_hotline && t.regulator(c.regulator_hotline)]
        .filter(Boolean).join(' · ');
      this._show(
        h('h2', { text: t.previewTitle }),
        s.scenario && s.scenario.course_name ? h('p', { class: 'muted', text: s.scenario.course_name + ' · ' + yuan(s.amount) }) : null,
        h('p', { class: 'big', text: t.perMonth(q.term) + yuan(q.instalment_amount) }),
        h('dl', {},
          h('dt', { text: t.aprFrom }), h('dd', { text: pct(q.apr) }),
          h('dt', { text: t.totalCost }), h('dd', { text: yuan(q.total_cost) }),
          h('dt', { text: t.totalPayment }), h('dd', { text: yuan(q.total_payment) }),
          h('dt', { text: t.lender }), h('dd', { text: q.lender_name }),
          q.custody_bank_name ? [h('dt', { text: t.custody }), h('dd', { text: q.custody_bank_name })] : null,
          complaint ? [h('dt', { text: t.complaints }), h('dd', { text: complaint })] : null),
        h('p', { class: 'muted', text: t.indicative }),
        h('button', { class: 'primary', type: 'button', onclick: () => this._details() , text: t.apply }));
    }

    // -- form plumbing ----------------------------------------------------------------------
    _field(name, label, input, hint) {
      const id = 'lb-' + name;
      input.id = id;
      input.setAttribute('aria-describedby', (hint ? id + '-hint ' : '') + id + '-err');
      return h('div', { class: 'field' },
        h('label', { for: id, text: label }),
        hint ? h('p', { class: 'muted', id: id + '-hint', text: hint }) : null,
        input,
        h('p', { class: 'err', id: id + '-err', 'aria-live': 'polite' }));
    }

    // Live validation: check on leaving a field, then on every keystroke once it shows an error.
    _live(input, check) {
      const run = () => this._setError(input, check(input.type === 'checkbox' ? input.checked : input.value));
      input.addEventListener('blur', run);
      input.addEventListener(input.type === 'checkbox' ? 'change' : 'input', () => {
        if (input.getAttribute('aria-invalid') === 'true') run();
      });
      input._check = check;
    }

    _setError(input, code, n) {
      const out = this._root.getElementById(input.id + '-err');
      const m = code ? this._msg(code) : '';
      if (out) out.textContent = typeof m === 'function' ? m(n) : m;
      if (code) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }

    _validate(form) {
      let first = null;
      for (const input of form.querySelectorAll('input')) {
        if (!input._check) continue;
        const code = input._check(input.type === 'checkbox' ? input.checked : input.value);
        this._setError(input, code);
        if (code && !first) first = input;
      }
      if (first) { first.focus(); this._say(this.t.fix); }
      return !first;
    }

    // A server error next to its field when it names one, else in the form's alert.
    _fail(err, form) {
      const name = err.param ? 'lb-' + err.param.replace(/^consents\./, 'consent-') : null;
      const input = name && this._root.getElementById(name);
      if (input) {
        this._setError(input, err.code || 'generic');
        input.focus();
      } else {
        const alert = form.querySelector('.alert');
        let text = this._msg(err.code, err.message);
        if (err.code === 'rate_limited' && err.retryAfter) text += ` (${err.retryAfter}s)`;
        alert.textContent = text;
      }
      this._say('');
    }

    async _busy(form, text, work) {
      const buttons = form.querySelectorAll('button');
      form.setAttribute('aria-busy', 'true');
      buttons.forEach((b) => { b.disabled = true; });
      form.querySelector('.alert').textContent = '';
      this._say(text);
      try {
        return await work();
      } catch (err) {
        if (err.code === 'widget_session_expired' || err.code === 'widget_session_invalid') return this._fatal(err);
        this._fail(err, form);
        return undefined;
      } finally {
        form.removeAttribute('aria-busy');
        buttons.forEach((b) => { b.disabled = false; });
      }
    }

    // -- details: name, ID number, phone, consents ---------------------------------------------
    _details() {
      const t = this.t, s = this._s, hint = s.borrower_hint || {}, d = this._draft || {};
      const name = h('input', { type: 'text', name: 'name', autocomplete: 'name', required: true, value: d.name || hint.name || '' });
      const id = h('input', { type: 'text', name: 'id_number', autocomplete: 'off', required: true, maxlength: 22, value: d.id_number || '' });
      const phone = h('input', { type: 'tel', name: 'phone', autocomplete: 'tel-national', inputmode: 'tel', required: true, value: d.phone || hint.phone || '' });
      this._live(name, checkName);
      this._live(id, checkIdNumber);
      this._live(phone, checkPhone);
      const card = h('input', { type: 'text', name: 'bank_card', autocomplete: 'cc-number', inputmode: 'numeric', maxlength: 23, value: d.bank_card || '' });
      this._live(card, checkBankCard);
      const consents = (s.consents || []).map((c) => {
        const box = h('input', { type: 'checkbox', id: 'lb-consent-' + c.kind, name: c.kind, checked: d.consents && d.consents[c.kind],
          'aria-describedby': 'lb-consent-' + c.kind + '-err' });
        if (c.required) this._live(box, (v) => (v ? null : 'consent_required'));
        return h('div', {},
          h('div', { class: 'check' }, box, h('label', { for: box.id, text: t.consent[c.kind] || c.kind })),
          h('details', {}, h('summary', { text: t.readText }), h('p', { text: (c.text && c.text[this.lang_]) || '' })),
          h('p', { class: 'err', id: box.id + '-err', 'aria-live': 'polite' }));
      });
      const form = h('form', { novalidate: true },
        this._field('name', t.name, name),
        this._field('id_number', t.idNumber, id, t.idHint),
        this._field('phone', t.phone, phone),
        this._field('bank_card', t.bankCard, card, t.bankCardHint),
        h('fieldset', {}, h('legend', { text: t.consentsLegend }), consents),
        h('p', { class: 'alert', role: 'alert' }),
        h('button', { class: 'primary', type: 'submit', text: t.sendCode }));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!this._validate(form)) return;
        const chosen = {};
        for (const c of s.consents || []) chosen[c.kind] = form.querySelector('#lb-consent-' + c.kind).checked;
        this._draft = { name: name.value.trim(), id_number: norm(id.value), phone: normPhone(phone.value),
          bank_card: card.value.normalize('NFKC').replace(/[\s-]+/g, ''), consents: chosen };
        this._busy(form, t.sending, async () => this._otp(await this._api('POST', '/otp', { phone: this._draft.phone })));
      });
      this._show(h('h2', { text: t.detailsTitle }), form);
      return form;
    }

    // -- one-time code, then the application ---------------------------------------------------
    _otp(sent) {
      const t = this.t;
      const code = h('input', { type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true });
      this._live(code, checkCode);
      const resend = h('button', { class: 'link', type: 'button' });
      const form = h('form', { novalidate: true },
        h('p', { text: t.otpSent(sent.phone) }),
        this._field('code', t.code, code),
        h('p', { class: 'alert', role: 'alert' }),
        h('button', { class: 'primary', type: 'submit', text: t.verify }),
        h('p', {}, resend, h('button', { class: 'link', type: 'button', text: t.changePhone, onclick: () => this._details() })));
      this._show(h('h2', { text: t.otpTitle }), form);
      const tick = () => {
        const left = Math.ceil(sent.resend_after - Date.now() / 1000);
        resend.disabled = left > 0;
        resend.textContent = left > 0 ? t.resendIn(left) : t.resend;
        return left;
      };
      tick();
      this._timers.push(setInterval(() => { if (tick() <= 0) this._stopTimers(); }, 1000));
      resend.addEventListener('click', () => this._busy(form, t.sending, async () => {
        this._otp(await this._api('POST', '/otp', { phone: this._draft.phone }));
      }));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!this._validate(form)) return;
        this._busy(form, t.verifying, async () => {
          const v = await this._api('POST', '/otp/verify', { code: code.value.trim() });
          if (!v.verified) { this._setError(code, 'otp_incorrect', v.attempts_left); code.focus(); this._say(''); return; }
          this._say(t.submitting);
          const d = this._draft;
          let who;
          try {
            who = await this._api('POST', '/applicant', {
              name: d.name, id_number: d.id_number, phone: d.phone, bank_card: d.bank_card || undefined,
              consents: d.consents, locale: this.lang_, device: await this._device(),
            });
          } catch (err) {
            // A field the server refused (e.g. the ID number) is fixed on the details form.
            if (err.param && /^(name|id_number|phone|bank_card|consents\.)/.test(err.param)) {
              return this._fail(err, this._details());
            }
            throw err;
          }
          await (who.required ? this._identity() : this._apply());
        });
      });
    }

    async _device() {
      if (!this._dev) {
        this._dev = { fingerprint: await fingerprint(), timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
          language: navigator.language, screen: screen.width + 'x' + screen.height };
      }
      return this._dev;
    }

    // -- identity check (liveness / face match), then the application ---------------------------
    _identity() {
      const t = this.t;
      const form = h('form', { novalidate: true },
        h('p', { text: t.identityText }),
        this._s.livemode === false ? h('p', { class: 'muted', text: t.identitySimulated }) : null,
        h('p', { class: 'alert', role: 'alert' }),
        h('button', { class: 'primary', type: 'submit', text: t.identityStart }));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        this._busy(form, t.identityRunning, async () => {
          let check = await this._api('POST', '/identity_check');
          for (let i = 0; i < 60 && check.status === 'processing'; i++) {
            await new Promise((r) => setTimeout(r, 500));
            check = await this._api('GET', '/identity_check');
          }
          if (check.status === 'processing' || check.status === 'error') throw new ApiError(0, { code: 'identity_error' });
          await this._apply();
        });
      });
      this._show(h('h2', { text: t.identityTitle }), form);
    }

    async _apply() {
      this._say(this.t.submitting);
      this._decision(await this._api('POST', '/applications', { device: await this._device() }));
    }

    // -- decision -----------------------------------------------------------------------------
    _decision(d, resumed) {
      const t = this.t;
      this._draft = null;
      if (d.status === 'approved') {
        if (!resumed) this._emit('approved', { application_id: d.application_id, offers: (d.offers || []).length });
        const form = h('form', { novalidate: true },
          h('fieldset', {}, h('legend', { text: t.chooseOffer }),
            (d.offers || []).map((o, k) => h('div', { class: 'offer' },
              h('input', { type: 'radio', name: 'offer', id: 'lb-offer-' + k, value: o.id, checked: k === 0 }),
              h('label', { for: 'lb-offer-' + k },
                h('strong', { text: t.offerLine(o.term, yuan(o.instalment_amount)) }), h('br'),
                h('span', { class: 'muted', text: `${t.apr} ${pct(o.apr)} · ${t.totalCost} ${yuan(o.total_cost)} · ${o.lender_name || ''}` }))))),
          h('p', { class: 'alert', role: 'alert' }),
          h('button', { class: 'primary', type: 'submit', text: t.cont }));
        form.addEventListener('submit', (ev) => {
          ev.preventDefault();
          const chosen = form.querySelector('input[name=offer]:checked');
          if (!chosen) return;
          this._busy(form, t.loading, async () => this._agreement(await this._api('POST', '/accept', { offer_id: chosen.value })));
        });
        return this._show(h('h2', { text: t.approvedTitle }), form);
      }
      const review = d.status === 'review';
      if (!resumed) this._emit(review ? 'review' : 'declined', { application_id: d.application_id });
      return this._show(h('h2', { text: review ? t.reviewTitle : t.declinedTitle }),
        h('p', { text: review ? t.reviewText : t.declinedText }),
        this._doneButton());
    }

    _doneButton() {
      const url = this._s && this._s.return_url;
      if (url && /^https?:\/\//.test(url)) return h('p', {}, h('a', { href: url, class: 'link', text: this.t.backTo }));
      return h('button', { class: 'primary', type: 'button', text: this.t.done, onclick: () => this._close() });
    }

    // -- agreement and signature ----------------------------------------------------------------
    _agreement(a) {
      const t = this.t;
      // The agreement is one bilingual text (Chinese, then English): its hash covers both.
      const doc = h('div', { class: 'doc', tabindex: '0', role: 'region', 'aria-label': t.agreementText, text: a.text });
      const agree = h('input', { type: 'checkbox', id: 'lb-agree', name: 'agree', 'aria-describedby': 'lb-agree-err' });
      this._live(agree, (v) => (v ? null : 'agreement_not_accepted'));
      const form = h('form', { novalidate: true },
        doc,
        h('p', { class: 'muted' }, t.hash + ': ', h('span', { class: 'hash', text: a.hash })),
        h('div', { class: 'check' }, agree, h('label', { for: 'lb-agree', text: t.agree })),
        h('p', { class: 'err', id: 'lb-agree-err', 'aria-live': 'polite' }),
        h('p', { class: 'alert', role: 'alert' }),
        h('button', { class: 'primary', type: 'submit', text: t.sign }));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!this._validate(form)) return;
        this._busy(form, t.signing, async () => {
          const r = await this._api('POST', '/sign', { agreement_hash: a.hash, agree: true });
          this._emit('signed', { loan_id: r.loan_id, application_id: r.application_id });
          this._signed(r);
        });
      });
      this._show(h('h2', { text: t.agreementTitle }), form);
    }

    // -- result: poll until the payout settles ----------------------------------------------------
    _signed(r) {
      const t = this.t;
      const line = h('p', { 'aria-live': 'polite' });
      this._show(h('h2', { text: t.signedTitle }), line, this._doneButton());
      const gen = this._gen;
      let tries = 0;
      const render = (res) => {
        const loan = res.loan || {}, pay = loan.disbursement || {};
        if (pay.status === 'succeeded' || ['active', 'paid_off'].includes(loan.status)) {
          line.className = 'ok';
          line.textContent = pay.payee_name ? t.paid(yuan(pay.amount), pay.payee_name) : t.paidGeneric;
          return true;
        }
        if (pay.status === 'failed' || loan.status === 'disbursement_failed') { line.textContent = t.payFailed; return true; }
        line.textContent = t.paying;
        return false;
      };
      if (render(r)) return;
      const poll = async () => {
        if (gen !== this._gen || ++tries > 40) return;
        try {
          if (render(await this._api('GET', '/result'))) return;
        } catch (_) { /* keep polling: the payout is already under way */ }
        this._timers.push(setTimeout(poll, tries < 10 ? 500 : 1500));
      };
      this._timers.push(setTimeout(poll, 400));
    }

    // -- repayment view ------------------------------------------------------------------------
    async _repay(notice) {
      const t = this.t, v = await this._api('GET', '/loan'), due = v.next_due, card = v.autodebit, pay = v.payment;
      const inFlight = !!pay && ['pending', 'processing', 'unknown'].includes(pay.status);
      // A debit this view started (or watched) has ended, perhaps before this read: say how.
      if (!notice && this._awaitingPay && pay && !inFlight) notice = this._payOutcome(pay);
      if (!inFlight) this._awaitingPay = false;
      const line = h('p', { 'aria-live': 'polite', class: notice && notice.ok ? 'ok' : 'muted',
        text: inFlight ? t.debiting : (notice ? notice.text : '') });
      let payForm = null;
      if (card && v.due_now > 0 && !inFlight) {
        // Pay what is due by today from the card on file (the loan's debit mandate).
        payForm = h('form', { novalidate: true },
          h('p', { class: 'alert', role: 'alert' }),
          h('button', { class: 'primary', type: 'submit', text: t.payNow(yuan(v.due_now)) }));
        payForm.addEventListener('submit', (ev) => {
          ev.preventDefault();
          this._busy(payForm, t.debiting, async () => {
            await this._api('POST', '/pay', {});
            this._awaitingPay = true;
            await this._repay();
          });
        });
      }
      this._show(
        h('h2', { text: t.repayTitle }),
        h('dl', {},
          h('dt', { text: t.outstanding }), h('dd', { text: yuan(v.outstanding) }),
          h('dt', { text: t.nextDue }), h('dd', { text: due ? `${yuan(due.amount_due)} · ${t.dueOn(due.due_date)}` : t.noneDue }),
          v.due_now > 0 ? h('dt', { text: t.dueNow }) : null, v.due_now > 0 ? h('dd', { text: yuan(v.due_now) }) : null),
        line,
        payForm,
        h('p', { class: 'muted', text: card ? t.autodebit(card.bank, card.card_last4) : t.noAutodebit }),
        h('table', {}, h('caption', { text: t.schedule }),
          h('thead', {}, h('tr', {}, t.cols.map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, (v.instalments || []).map((i) => h('tr', {},
            h('td', { text: String(i.number) }), h('td', { text: i.due_date }), h('td', { text: yuan(i.principal) }),
            h('td', { text: yuan(i.interest) }), h('td', { text: yuan(i.amount_due) }),
            h('td', { text: t.st[i.status] || i.status }))))));
      if (inFlight) this._watchPayment();
    }

    // The debit runs in the background: poll until the card answers, then show the outcome.
    _watchPayment() {
      const gen = this._gen;
      let tries = 0;
      this._awaitingPay = true;
      const poll = async () => {
        if (gen !== this._gen || ++tries > 60) return;
        let v = null;
        try { v = await this._api('GET', '/loan'); } catch (_) { /* keep polling */ }
        const pay = v && v.payment;
        if (pay && !['pending', 'processing', 'unknown'].includes(pay.status)) return this._repay();
        this._timers.push(setTimeout(poll, tries < 10 ? 500 : 1500));
      };
      this._timers.push(setTimeout(poll, 400));
    }

    _payOutcome(pay) {
      const t = this.t;
      if (pay.status === 'succeeded') return { ok: true, text: t.payReceived };
      return { text: pay.failure_code === 'insufficient_funds' ? t.payFailedFunds : t.payFailedOther };
    }
  }

  customElements.define('lendbridge-checkout', LendBridgeCheckout);
  window.LendBridgeCheckout = Object.freeze({ checkIdNumber, checkPhone, checkBankCard, yuan, pct });
})();
