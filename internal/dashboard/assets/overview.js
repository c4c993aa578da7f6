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
    return { label: label, data: data, borderColor: color, backgroundColor: color + '22', fill: true, cubicInterpolationMode: 'monotone', pointRadius: 0, borderWidth: 2 };
  };
  // Clicks outnumber referrals many times over: they get their own axis
  // on the right, so that referrals and conversions keep their shape.
  var funnel = JSON.parse(JSON.stringify(common));
  funnel.scales.y.title = { display: true, text: 'Referrals' };
  funnel.scales.y1 = { position: 'right', beginAtZero: true, grid: { display: false }, ticks: { precision: 0 }, title: { display: true, text: 'Clicks' } };
  var clicks = line('Clicks', d.clicks, '#94a3b8');
  clicks.yAxisID = 'y1';
  clicks.fill = false;
  clicks.borderDash = [4, 3];
  var f = document.getElementById('chart-funnel');
  if (f) new Chart(f, { type: 'line', options: funnel, data: { labels: d.labels, datasets: [
    clicks, line('Referrals', d.referrals, '#4f46e5'), line('Successful', d.successful, '#059669')] } });
  var m = document.getElementById('chart-money');
  if (m) new Chart(m, { type: 'bar', options: common, data: { labels: d.labels, datasets: [
    { label: 'Referred revenue', data: d.revenue, backgroundColor: '#4f46e5', borderRadius: 3 },
    { label: 'Rewards issued', data: d.rewards, backgroundColor: '#f59e0b', borderRadius: 3 }] } });
})();
