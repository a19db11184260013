// Bar charts of the case-analysis page: this period beside the one before, with Chart.js (vendored byte for byte,
// vendor/VERSIONS; a classic script, window.Chart; it draws on a canvas and needs neither eval nor inline style,
// so the console's Content-Security-Policy stays as it is). No animation (a wall display redraws nothing it need
// not), large type and each bar's count written above it, to be read from across the command room.

const Chart = window.Chart;
const COLOURS = { current: "#e0a526", previous: "#5b6573", text: "#e6e6e6", grid: "#2a2f37" };
const FONT = "system-ui, 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif";

// Each bar's count above it (this period's in the accent colour); zero bars stay bare.
const counts = {
  id: "shopwatchCounts",
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    chart.data.datasets.forEach((dataset, i) => {
      const meta = chart.getDatasetMeta(i);
      if (meta.hidden) return;
      ctx.font = `${i === 1 ? "bold " : ""}15px ${FONT}`;
      ctx.fillStyle = i === 1 ? COLOURS.current : COLOURS.text;
      meta.data.forEach((bar, j) => {
        const value = dataset.data[j];
        if (value) ctx.fillText(String(value), bar.x, bar.y - 2);
      });
    });
    ctx.restore();
  },
};

let ready = false;

function setup() {
  if (ready) return;
  ready = true;
  Chart.defaults.color = COLOURS.text;
  Chart.defaults.borderColor = COLOURS.grid;
  Chart.defaults.font.family = FONT;
  Chart.defaults.font.size = 16;
  Chart.defaults.animation = false;
}

export class BarChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.chart = null;
  }

  // {labels, current, previous, currentLabel, previousLabel}: the previous period's bar first, then this one's.
  draw({ labels, current, previous, currentLabel, previousLabel }) {
    setup();
    // Few categories on a wide chart: the pair of bars stays together (at most ~2 × 56 px) instead of spreading.
    const slot = (this.canvas.parentNode.clientWidth || 600) / Math.max(1, labels.length);
    const bar = { maxBarThickness: 56, barPercentage: 0.92, categoryPercentage: Math.min(0.8, 128 / slot) };
    const data = {
      labels,
      datasets: [
        { label: previousLabel, data: previous, backgroundColor: COLOURS.previous, ...bar },
        { label: currentLabel, data: current, backgroundColor: COLOURS.current, ...bar },
      ],
    };
    if (this.chart) {
      this.chart.data = data;
      this.chart.update();
      return;
    }
    this.chart = new Chart(this.canvas, {
      type: "bar",
      data,
      plugins: [counts],
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          y: { beginAtZero: true, grace: "18%", ticks: { precision: 0 } },  // grace: room for the tallest count
          x: { grid: { display: false } },
        },
        plugins: { legend: { position: "top", labels: { boxWidth: 18 } } },
      },
    });
  }
}
