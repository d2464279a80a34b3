// The dashboard page: one card per symbol (live price, candles with volume, average and
// VWAP lines, both lanes' latency, price alerts) fed by the server's Socket.IO events
// (services/README.md):
//   hello {symbols}                            on connect: the default symbols
//   snapshot {symbol, latest, live, candles}   after `subscribe`: newest records + history
//   live <record>        the live lane's provisional value of an open window (at once)
//   analytics <record>   Spark's record of a window (final for its count)
// One (window, window_start) shows the record with the greater `count`; at equal count
// Spark's wins; a provisional record never replaces a final one of equal or greater count
// (the Redis publisher's guard). Candles: 1 min (history from Cassandra + records) or
// 1 s (built from the records received since the page opened).
// Latency of a lane = now - last_trade_time when one of its records arrives (this
// browser's clock), shown as the median of the lane's last 50.
"use strict";

const STORE = "bigdata.symbols";
const ALERTS = "bigdata.alerts";        // {symbol: {above, below}}
const INTERVAL = "bigdata.interval";    // "1s" | "1m"
const WINDOWS = ["1s", "1m"];
const MAX_BARS = { "1s": 3600, "1m": 1440 };  // kept per symbol and window
const SAMPLES = 50;                     // latency samples of the rolling median
const COLORS = { up: "#26a69a", down: "#ef5350" };
const HOLLOW = { up: "rgba(38,166,154,0.25)", down: "rgba(239,83,80,0.25)" };

const cards = new Map();  // symbol -> card
let interval = localStorage.getItem(INTERVAL) === "1s" ? "1s" : "1m";
const lanes = { live: samples(document.getElementById("latency-live")), spark: samples(document.getElementById("latency")) };

const socket = io();
const connection = document.getElementById("connection");

function initialSymbols(defaults) {
  const fromUrl = new URLSearchParams(location.search).get("symbols");
  if (fromUrl) return fromUrl.split(",");
  const stored = localStorage.getItem(STORE);
  return stored ? JSON.parse(stored) : defaults;
}

function remember() {
  localStorage.setItem(STORE, JSON.stringify([...cards.keys()]));
}

function bump(element) {
  element.dataset.updates = String(Number(element.dataset.updates || 0) + 1);
}

// --- which record of a window to show ---------------------------------------------------
// known/incoming: {count, provisional}; true when incoming is to be shown instead of known
function prefer(known, incoming) {
  if (!known) return true;
  if (incoming.count !== known.count) return incoming.count > known.count;
  return !incoming.provisional || known.provisional;  // equal count: final wins, never the reverse
}

function barOf(record, provisional) {
  const { open, high, low, close, average, vwap, volume, count } = record;
  return { time: record.window_start / 1000, open, high, low, close, average, vwap, volume, count,
           provisional: Boolean(provisional) };
}

// --- latency ----------------------------------------------------------------------------
function samples(header) {
  return { values: [], header };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : Math.round((sorted[middle - 1] + sorted[middle]) / 2);
}

function sample(lane, latency, element) {
  lane.values.push(latency);
  if (lane.values.length > SAMPLES) lane.values.shift();
  const value = median(lane.values);
  element.textContent = String(value);
  element.dataset.latencyMs = String(value);
  bump(element);
}

function showLatency(card, record, provisional) {
  const latency = Date.now() - record.last_trade_time;
  const name = provisional ? "live" : "spark";
  sample(card.lanes[name], latency, card.lanes[name].element);
  sample(lanes[name], latency, lanes[name].header);
}

// --- the cards --------------------------------------------------------------------------
function createCard(symbol) {
  const node = document.getElementById("symbol-card").content.firstElementChild.cloneNode(true);
  node.dataset.symbol = symbol;
  node.dataset.interval = interval;
  node.querySelector("h2").textContent = symbol;
  document.getElementById("symbols").appendChild(node);
  const chart = LightweightCharts.createChart(node.querySelector(".chart"), {
    autoSize: true,
    layout: { background: { color: "#1a2027" }, textColor: "#d8dee4" },
    grid: { vertLines: { color: "#242c35" }, horzLines: { color: "#242c35" } },
    timeScale: { timeVisible: true, secondsVisible: interval === "1s" },
  });
  const card = {
    node, chart,
    bars: { "1s": new Map(), "1m": new Map() },  // window -> (time -> bar)
    candles: chart.addSeries(LightweightCharts.CandlestickSeries, {
      upColor: COLORS.up, downColor: COLORS.down, borderUpColor: COLORS.up, borderDownColor: COLORS.down,
      wickUpColor: COLORS.up, wickDownColor: COLORS.down,
    }),
    volume: chart.addSeries(LightweightCharts.HistogramSeries, {
      priceScaleId: "volume", priceFormat: { type: "volume" }, priceLineVisible: false, lastValueVisible: false,
    }),
    average: chart.addSeries(LightweightCharts.LineSeries, { color: "#f5a623", lineWidth: 1, priceLineVisible: false }),
    vwap: chart.addSeries(LightweightCharts.LineSeries, { color: "#4a90e2", lineWidth: 1, priceLineVisible: false }),
    price: node.querySelector(".price"),
    state: node.querySelector(".state"),
    error: node.querySelector(".error"),
    lanes: { live: { values: [], element: node.querySelector(".latency-live") },
             spark: { values: [], element: node.querySelector(".latency") } },
    lastPrice: null,  // for the alerts' crossings
    alertsForm: node.querySelector(".alerts"),
  };
  chart.priceScale("right").applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
  chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  node.querySelector(".remove").addEventListener("click", () => removeSymbol(symbol));
  setupAlerts(card, symbol);
  return card;
}

function addSymbol(symbol, byUser) {
  symbol = symbol.trim().toUpperCase();
  if (!symbol || cards.has(symbol)) return;
  cards.set(symbol, createCard(symbol));
  remember();
  subscribe(symbol, byUser);
}

function subscribe(symbol, add) {
  socket.emit("subscribe", { symbol, add: Boolean(add) }, (reply) => {
    if (reply && reply.error && cards.has(symbol)) cards.get(symbol).error.textContent = reply.error;
  });
}

function removeSymbol(symbol) {
  const card = cards.get(symbol);
  if (!card) return;
  socket.emit("unsubscribe", { symbol });
  card.chart.remove();
  card.node.remove();
  cards.delete(symbol);
  remember();
}

// --- the chart --------------------------------------------------------------------------
function candleOf(bar) {
  const up = bar.close >= bar.open;
  const point = { time: bar.time, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
  if (bar.provisional) {  // hollow: the live lane's value, Spark's not (yet) there
    point.color = up ? HOLLOW.up : HOLLOW.down;
    point.borderColor = point.wickColor = up ? COLORS.up : COLORS.down;
  }
  return point;
}

function volumeOf(bar) {
  const up = bar.close >= bar.open;
  return { time: bar.time, value: bar.volume || 0,
           color: bar.provisional ? (up ? HOLLOW.up : HOLLOW.down) : (up ? "rgba(38,166,154,0.6)" : "rgba(239,83,80,0.6)") };
}

function redraw(card) {
  const bars = [...card.bars[interval].values()].sort((a, b) => a.time - b.time);
  card.candles.setData(bars.map(candleOf));
  card.volume.setData(bars.map(volumeOf));
  card.average.setData(bars.map((bar) => ({ time: bar.time, value: bar.average })));
  card.vwap.setData(bars.map((bar) => ({ time: bar.time, value: bar.vwap })));
  showState(card);
}

function showState(card) {
  let newest = null;
  for (const bar of card.bars[interval].values()) if (!newest || bar.time > newest.time) newest = bar;
  const state = newest ? (newest.provisional ? "provisional" : "final") : "";
  card.state.textContent = state;
  card.state.dataset.state = state;
  card.state.dataset.count = newest ? String(newest.count) : "";
  card.state.dataset.time = newest ? String(newest.time) : "";
}

// a record's bar into its window's bars; drawn when that window is the one shown
function putBar(card, window, bar) {
  const bars = card.bars[window];
  if (!bars) return;
  if (!prefer(bars.get(bar.time), bar)) return;
  let last = 0;
  for (const time of bars.keys()) if (time > last) last = time;
  bars.set(bar.time, bar);
  if (bars.size > MAX_BARS[window]) {
    const oldest = Math.min(...bars.keys());
    bars.delete(oldest);
  }
  if (window !== interval) return;
  if (bar.time >= last) {  // the forming candle: a cheap in-place update
    card.candles.update(candleOf(bar));
    card.volume.update(volumeOf(bar));
    card.average.update({ time: bar.time, value: bar.average });
    card.vwap.update({ time: bar.time, value: bar.vwap });
    showState(card);
  } else {
    redraw(card);  // a late update of an earlier candle
  }
}

function setInterval_(name) {
  interval = name;
  localStorage.setItem(INTERVAL, name);
  for (const button of document.querySelectorAll("#interval button")) {
    button.classList.toggle("active", button.dataset.interval === name);
  }
  for (const card of cards.values()) {
    card.node.dataset.interval = name;
    card.chart.applyOptions({ timeScale: { secondsVisible: name === "1s" } });
    redraw(card);
    card.chart.timeScale().scrollToRealTime();
  }
}

// --- figures ----------------------------------------------------------------------------
function showPrice(card, symbol, record, provisional) {
  const shown = Number(card.price.dataset.tradeTime || 0);
  if (record.last_trade_time < shown) return;  // an older trade
  // the same trade: the live lane's value never replaces Spark's (final) one
  if (record.last_trade_time === shown && provisional && card.price.dataset.provisional === "false") return;
  card.price.textContent = record.close.toFixed(2);
  card.price.dataset.price = String(record.close);
  card.price.dataset.tradeTime = String(record.last_trade_time);
  card.price.dataset.provisional = String(Boolean(provisional));
  card.price.classList.toggle("provisional", Boolean(provisional));
  bump(card.price);
  checkAlerts(card, symbol, record.close);
}

// --- price alerts (per symbol, kept in this browser) --------------------------------------
function storedAlerts() {
  try { return JSON.parse(localStorage.getItem(ALERTS) || "{}"); } catch (error) { return {}; }
}

function number(text) {
  const value = parseFloat(text);
  return Number.isFinite(value) && value > 0 ? value : null;
}

function setupAlerts(card, symbol) {
  const form = card.alertsForm;
  const saved = storedAlerts()[symbol] || {};
  form.querySelector(".above").value = saved.above ?? "";
  form.querySelector(".below").value = saved.below ?? "";
  card.alerts = { above: saved.above ?? null, below: saved.below ?? null, was: {} };
  showAlerts(card);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const above = number(form.querySelector(".above").value);
    const below = number(form.querySelector(".below").value);
    card.alerts = { above, below, was: {} };
    const all = storedAlerts();
    if (above === null && below === null) delete all[symbol]; else all[symbol] = { above, below };
    localStorage.setItem(ALERTS, JSON.stringify(all));
    showAlerts(card);
    if (card.lastPrice !== null) checkAlerts(card, symbol, card.lastPrice);
  });
}

function showAlerts(card) {
  const { above, below } = card.alerts;
  const parts = [];
  if (above !== null) parts.push(`> ${above}`);
  if (below !== null) parts.push(`< ${below}`);
  card.alertsForm.querySelector(".alert-state").textContent = parts.length ? `armed ${parts.join(", ")}` : "";
  card.node.dataset.alerts = JSON.stringify({ above, below });
}

// a crossing: the price beyond the limit now and not at the previous price (the first
// price seen, or the one when the alert was set, only tells the side: no notice for a
// price that was already beyond when the page opened)
function checkAlerts(card, symbol, price) {
  card.lastPrice = price;
  const { above, below, was } = card.alerts;
  for (const [side, limit, now] of [["above", above, above !== null && price >= above],
                                     ["below", below, below !== null && price <= below]]) {
    if (limit === null) continue;
    if (now && was[side] === false) notify(symbol, `${symbol} crossed ${side} ${limit}: ${price.toFixed(2)}`);
    was[side] = now;
  }
}

function notify(symbol, text) {
  const notice = document.createElement("div");
  notice.className = "notice";
  notice.dataset.symbol = symbol;
  notice.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  const close = document.createElement("button");
  close.textContent = "×";
  close.addEventListener("click", () => notice.remove());
  notice.appendChild(close);
  document.getElementById("notices").prepend(notice);
  setTimeout(() => notice.remove(), 30_000);
  if ("Notification" in window && Notification.permission === "granted") {
    try { new Notification("price alert", { body: text, tag: `bigdata-${symbol}` }); } catch (error) { /* page-only */ }
  }
}

// --- events -----------------------------------------------------------------------------
socket.on("connect", () => { connection.textContent = "connected"; connection.dataset.state = "connected"; });
socket.on("disconnect", () => { connection.textContent = "disconnected"; connection.dataset.state = "disconnected"; });

socket.on("hello", (hello) => {
  if (cards.size === 0) {
    for (const symbol of initialSymbols(hello.symbols)) addSymbol(symbol, false);
  } else {
    for (const symbol of cards.keys()) subscribe(symbol, false);  // a reconnect: rooms are per connection
  }
});

socket.on("snapshot", (snapshot) => {
  const card = cards.get(snapshot.symbol);
  if (!card) return;
  card.error.textContent = snapshot.error || "";
  const minutes = new Map(snapshot.candles.map((candle) => [candle.time, { ...candle, provisional: false }]));
  for (const [time, bar] of card.bars["1m"]) {  // what arrived live before the snapshot
    if (prefer(minutes.get(time), bar)) minutes.set(time, bar);
  }
  card.bars["1m"] = minutes;
  const live = snapshot.live || {};
  for (const window of WINDOWS) {
    for (const [record, provisional] of [[snapshot.latest[window], false], [live[window], true]]) {
      if (!record) continue;
      const bar = barOf(record, provisional);
      const known = card.bars[window].get(bar.time);
      if (prefer(known, bar)) card.bars[window].set(bar.time, bar);
      showPrice(card, snapshot.symbol, record, provisional);
    }
  }
  redraw(card);
});

function onRecord(record, provisional) {
  const card = cards.get(record.symbol);
  if (!card) return;
  putBar(card, record.window, barOf(record, provisional));
  showPrice(card, record.symbol, record, provisional);
  showLatency(card, record, provisional);
}

socket.on("live", (record) => onRecord(record, true));
socket.on("analytics", (record) => onRecord(record, false));

document.getElementById("add").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("symbol");
  addSymbol(input.value, true);
  input.value = "";
});

for (const button of document.querySelectorAll("#interval button")) {
  button.classList.toggle("active", button.dataset.interval === interval);
  button.addEventListener("click", () => setInterval_(button.dataset.interval));
}

const notifications = document.getElementById("notifications");
if (!("Notification" in window)) {
  notifications.hidden = true;
} else {
  notifications.dataset.permission = Notification.permission;
  notifications.addEventListener("click", () => Notification.requestPermission().then((permission) => {
    notifications.dataset.permission = permission;
  }));
}
