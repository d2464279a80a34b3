// The dashboard page: one card per symbol (live price, 1-minute candles with average
// and VWAP lines) fed by the server's Socket.IO events (services/README.md):
//   hello {symbols}            on connect: the default symbols
//   snapshot {symbol, latest, candles}   after `subscribe`: newest records + history
//   analytics <record>         each analytics record of a subscribed symbol, live
// Latency = now - last_trade_time of the newest live record, in ms (this browser's clock).
"use strict";

const STORE = "bigdata.symbols";
const cards = new Map();  // symbol -> card
let newestTrade = 0;

const socket = io();
const connection = document.getElementById("connection");
const latencyAll = document.getElementById("latency");

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

function createCard(symbol) {
  const node = document.getElementById("symbol-card").content.firstElementChild.cloneNode(true);
  node.dataset.symbol = symbol;
  node.querySelector("h2").textContent = symbol;
  document.getElementById("symbols").appendChild(node);
  const chart = LightweightCharts.createChart(node.querySelector(".chart"), {
    autoSize: true,
    layout: { background: { color: "#1a2027" }, textColor: "#d8dee4" },
    grid: { vertLines: { color: "#242c35" }, horzLines: { color: "#242c35" } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  const card = {
    node, chart, bars: new Map(),
    candles: chart.addSeries(LightweightCharts.CandlestickSeries, {}),
    average: chart.addSeries(LightweightCharts.LineSeries, { color: "#f5a623", lineWidth: 1, priceLineVisible: false }),
    vwap: chart.addSeries(LightweightCharts.LineSeries, { color: "#4a90e2", lineWidth: 1, priceLineVisible: false }),
    price: node.querySelector(".price"),
    latency: node.querySelector(".latency"),
    error: node.querySelector(".error"),
  };
  node.querySelector(".remove").addEventListener("click", () => removeSymbol(symbol));
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
function lines(card, bar) {
  return [[card.average, { time: bar.time, value: bar.average }], [card.vwap, { time: bar.time, value: bar.vwap }]];
}

function redraw(card) {
  const bars = [...card.bars.values()].sort((a, b) => a.time - b.time);
  card.candles.setData(bars);
  card.average.setData(bars.map((bar) => ({ time: bar.time, value: bar.average })));
  card.vwap.setData(bars.map((bar) => ({ time: bar.time, value: bar.vwap })));
}

function putBar(card, bar) {
  const last = Math.max(0, ...card.bars.keys());
  const known = card.bars.get(bar.time);
  if (known && known.count > bar.count) return;  // an older update of this minute
  card.bars.set(bar.time, bar);
  if (bar.time >= last) {  // the current minute: cheap in-place update
    card.candles.update(bar);
    for (const [series, point] of lines(card, bar)) series.update(point);
  } else {
    redraw(card);  // a late update of an earlier minute
  }
}

function barOf(record) {
  const { open, high, low, close, average, vwap, count } = record;
  return { time: record.window_start / 1000, open, high, low, close, average, vwap, count };
}

// --- figures ----------------------------------------------------------------------------
function showPrice(card, record) {
  card.price.textContent = record.close.toFixed(2);
  card.price.dataset.price = String(record.close);
  card.price.dataset.tradeTime = String(record.last_trade_time);
  bump(card.price);
}

function showLatency(card, record) {
  const latency = Date.now() - record.last_trade_time;
  card.latency.textContent = String(latency);
  card.latency.dataset.latencyMs = String(latency);
  if (record.last_trade_time >= newestTrade) {
    newestTrade = record.last_trade_time;
    latencyAll.textContent = String(latency);
    latencyAll.dataset.latencyMs = String(latency);
    bump(latencyAll);
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
  card.bars = new Map(snapshot.candles.map((candle) => [candle.time, candle]));
  const minute = snapshot.latest["1m"];
  if (minute) {
    const bar = barOf(minute);
    const known = card.bars.get(bar.time);
    if (!known || known.count <= bar.count) card.bars.set(bar.time, bar);
  }
  redraw(card);
  const newest = snapshot.latest["1s"] || minute;
  if (newest) showPrice(card, newest);
});

socket.on("analytics", (record) => {
  const card = cards.get(record.symbol);
  if (!card) return;
  if (record.window === "1m") putBar(card, barOf(record));
  if (record.last_trade_time >= Number(card.price.dataset.tradeTime || 0)) showPrice(card, record);
  showLatency(card, record);
});

document.getElementById("add").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("symbol");
  addSymbol(input.value, true);
  input.value = "";
});
