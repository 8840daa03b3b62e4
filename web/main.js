// The page: opens the adapter, runs the check, trains the digits, and
// writes the three `wgconv-web` console lines a test reads.
import init, { start, run_check, train_epoch, stop, epochs } from './pkg/wgconv_web.js';

const $ = (id) => document.getElementById(id);
const say = (line) => {
  console.log(line);
  $('log').textContent += line + '\n';
};

const history = [];
function draw() {
  const c = $('chart'), g = c.getContext('2d');
  const W = c.width, H = c.height, L = 44, R = 70, T = 14, B = 28;
  g.clearRect(0, 0, W, H);
  g.font = '12px system-ui, sans-serif';
  g.strokeStyle = '#ccc';
  g.strokeRect(L, T, W - L - R, H - T - B);
  const n = Math.max(epochs(), history.length);
  const x = (i) => L + ((W - L - R) * (i + 1)) / n;
  const maxLoss = Math.max(0.1, ...history.map((h) => h.loss));
  const yLoss = (v) => T + (H - T - B) * (1 - v / maxLoss);
  const yAcc = (v) => T + (H - T - B) * (1 - v);
  const line = (color, y, key) => {
    g.strokeStyle = color; g.fillStyle = color; g.lineWidth = 2; g.beginPath();
    history.forEach((h, i) => (i ? g.lineTo(x(i), y(h[key])) : g.moveTo(x(i), y(h[key]))));
    g.stroke();
    history.forEach((h, i) => g.fillRect(x(i) - 2, y(h[key]) - 2, 4, 4));
  };
  line('#1f5fbf', yLoss, 'loss');
  line('#c62828', yAcc, 'acc');
  g.fillStyle = '#1f5fbf'; g.fillText('loss', 6, T + 10); g.fillText(maxLoss.toFixed(2), 6, T + 26);
  g.fillStyle = '#c62828'; g.fillText('accuracy', W - R + 2, T + 10); g.fillText('100 %', W - R + 2, T + 26);
  g.fillStyle = '#444'; g.fillText('epoch', W / 2 - 16, H - 8);
  for (let i = 0; i < n; i++) g.fillText(String(i + 1), x(i) - 3, H - B + 14);
}

async function main() {
  await init();
  if (!navigator.gpu) {
    $('adapter').textContent = 'none: this browser has no WebGPU';
    say('wgconv-web adapter: none (navigator.gpu is missing)');
    return;
  }
  const data = new Uint8Array(await (await fetch('pkg/digits.csv.gz')).arrayBuffer());
  // WebGPU hides the adapter's name; its info says vendor and architecture.
  const probe = await navigator.gpu.requestAdapter();
  const info = (probe && probe.info) || {};
  const software = info.architecture === 'swiftshader' || (probe && probe.isFallbackAdapter);
  // SwiftShader (Chromium's software WebGPU) loses its GPU process compiling
  // the register-blocked GEMM kernels (blocks, tiled*): there the page runs
  // the `rows` kernel. `?policy=NAME` chooses any policy.
  const asked = new URLSearchParams(location.search).get('policy');
  const policy = asked !== null ? asked : software ? 'rows' : '';
  const described = [info.vendor, info.architecture, info.device, info.description]
    .filter((s) => s).join(' ');
  await start(data, policy);
  const name = `${described || 'unnamed WebGPU adapter'}${policy ? ` (policy ${policy})` : ''}`;
  $('adapter').textContent = name;
  say(`wgconv-web adapter: ${name}`);

  const rows = await run_check();
  for (const r of rows.slice(1)) {
    const [op, err] = r.split(' ');
    $('check').insertRow().innerHTML = `<td>${op}</td><td>${err}</td>`;
  }
  const ok = rows[0] === 'ok';
  $('verdict').innerHTML = ok ? '<span class="ok">all ops within tolerance</span>' : `<span class="bad">${rows[0]}</span>`;
  say(`wgconv-web check: ${rows[0]}`);
  if (!ok) return;

  let stopped = false;
  $('stop').disabled = false;
  $('stop').onclick = () => { stopped = true; stop(); };
  const t0 = performance.now();
  let accuracy = 0;
  for (let e = 0; e < epochs() && !stopped; e++) {
    $('status').textContent = `epoch ${e + 1} of ${epochs()}…`;
    const [epoch, loss, acc, halted] = await train_epoch();
    accuracy = acc;
    history.push({ loss, acc });
    draw();
    say(`epoch ${epoch}: train loss ${loss.toFixed(4)}, test accuracy ${(100 * acc).toFixed(2)} %`);
    if (halted) stopped = true;
  }
  const seconds = (performance.now() - t0) / 1000;
  $('stop').disabled = true;
  $('status').textContent = stopped ? 'stopped' : 'done';
  $('final').innerHTML = `Test accuracy <b>${(100 * accuracy).toFixed(2)} %</b> on 360 held-out digits after ${seconds.toFixed(1)} s.`;
  say(`wgconv-web train: test_accuracy=${accuracy.toFixed(4)} seconds=${seconds.toFixed(1)}`);
}

main().catch((e) => {
  say(`wgconv-web error: ${e}`);
  $('verdict').innerHTML = `<span class="bad">${e}</span>`;
});
