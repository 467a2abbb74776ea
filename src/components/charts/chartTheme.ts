import { provide } from "vue";
import { THEME_KEY } from "vue-echarts";

/** The dashboard's ECharts theme: the page palette (styles.css), so options need not repeat it. */
export const chartTheme = {
  color: ["#2456c7", "#e08a1e", "#1d7a46", "#b42318", "#7a4fc2", "#0e8a9a", "#c2499b", "#6b7a12", "#5d6675", "#9a6200", "#3d8bd9", "#d45a5a"],
  textStyle: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", color: "#1d2430" },
  backgroundColor: "transparent",
};

/**
 * Called by the components that hold charts, not by App.vue, so that ECharts stays
 * out of the first bundle that every labeller downloads.
 */
export function provideChartTheme(): void {
  provide(THEME_KEY, chartTheme);
}
