// Draws the overview charts from the JSON the page embeds.
(function () {
  'use strict';
  var el = document.getElementById('overview-data');
  if (!el || !window.Chart) return;
  var d = JSON.parse(el.textContent);
  var grid = { color: '#eef0f4' };
  var common = {
    responsive: true, maintainAspectRatio: false, animation: false,
    interaction: { mode: 'index', intersect: false },
    plugins: { legend: { position: 'bottom', labels: { boxWidth: 10, usePointStyle: true } } },
    scales: { x: { grid: { display: false }, ticks: { maxTicksLimit: 8 } }, y: { beginAtZero: true, grid: grid, ticks: { precision: 0 } } }
  };
  var line = function (label, data, color) {
    return { label: label, data: data, borderColor: color, backgroundColor: color + '22', fill: true, tension: .3, pointRadius: 0, borderWidth: 2 };
  };
  var f = document.getElementById('chart-funnel');
  if (f) new Chart(f, { type: 'line', options: common, data: { labels: d.labels, datasets: [
    line('Clicks', d.clicks, '#94a3b8'), line('Referrals', d.referrals, '#4f46e5'), line('Successful', d.successful, '#059669')] } });
  var m = document.getElementById('chart-money');
  if (m) new Chart(m, { type: 'bar', options: common, data: { labels: d.labels, datasets: [
    { label: 'Referred revenue', data: d.revenue, backgroundColor: '#4f46e5', borderRadius: 3 },
    { label: 'Rewards issued', data: d.rewards, backgroundColor: '#f59e0b', borderRadius: 3 }] } });
})();
