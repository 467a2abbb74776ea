import { describe, expect, it } from "vitest";
import { mount } from "@vue/test-utils";
import VChart from "vue-echarts";
import ConfusionHeatmapChart from "../../src/components/charts/ConfusionHeatmapChart.vue";
import DistributionChart from "../../src/components/charts/DistributionChart.vue";
import { buildConfusionHeatmapOption } from "../../src/charts/confusionHeatmap";
import { buildDistributionOption } from "../../src/charts/distribution";

// jsdom has no canvas: the ECharts component is stubbed and its props checked.
const stubs = { global: { stubs: { Echarts: true } } };

describe("chart components in their shared frame", () => {
  it("a chart shows its title as the figure's caption and hands its built option to one auto-resizing chart", () => {
    const classes = ["cat", "dog"];
    const series = [{ name: "predicted", counts: [3, 1] }];
    const wrapper = mount(DistributionChart, { props: { classes, series, title: "Predicted classes" }, ...stubs });
    const figure = wrapper.find("figure.chart-figure");
    expect(figure.attributes("aria-label")).toBe("Predicted classes");
    expect(figure.find("figcaption").text()).toBe("Predicted classes");
    const chart = wrapper.findComponent(VChart);
    expect(chart.props("option")).toEqual(buildDistributionOption(series, classes));
    expect(chart.props("autoresize")).toBe(true);
    expect(chart.classes()).toEqual(["chart"]);
  });

  it("the confusion heatmap asks for the square frame", () => {
    const matrix = [
      [2, 1],
      [0, 3],
    ];
    const wrapper = mount(ConfusionHeatmapChart, { props: { matrix, classes: ["cat", "dog"], title: "Confusion" }, ...stubs });
    const chart = wrapper.findComponent(VChart);
    expect(chart.props("option")).toEqual(buildConfusionHeatmapOption(matrix, ["cat", "dog"], { xName: undefined, yName: undefined }));
    expect(chart.classes()).toEqual(["chart", "chart--square"]);
  });
});
