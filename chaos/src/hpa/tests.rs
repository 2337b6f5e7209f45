//! The worked examples of the HPA documentation and the chart's own settings.

use super::*;

fn pod(name: &str, ready: bool, percent: Option<f64>) -> PodMetric {
    // Requests of 1 core make usage and utilisation the same number.
    PodMetric { name: name.into(), ready, ignored: false, usage: percent.map(|p| p / 100.0), request: 1.0 }
}

fn chart() -> ChartSettings {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/task-manager/values.yaml");
    ChartSettings::from_values_file(&path).unwrap()
}

#[test]
fn three_pods_at_90_percent_with_a_60_percent_target_become_five() {
    let pods = [pod("a", true, Some(90.0)), pod("b", true, Some(90.0)), pod("c", true, Some(90.0))];
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &pods), Some(5));
}

#[test]
fn an_unready_pod_counts_as_zero_when_scaling_up_so_nothing_changes() {
    // (0.9 + 0.9 + 0) / 3 = 0.6: ratio 1.0, no scale until the new pod is ready.
    let pods = [pod("a", true, Some(90.0)), pod("b", true, Some(90.0)), pod("c", false, Some(95.0))];
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &pods), Some(3));
}

#[test]
fn unready_pods_do_not_hold_back_a_scale_down() {
    // Ratio below 1: the unready pod is simply left out, like the controller does.
    let pods = [pod("a", true, Some(20.0)), pod("b", true, Some(20.0)), pod("c", false, None)];
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &pods), Some(1));
}

#[test]
fn within_the_tolerance_the_count_is_kept() {
    let pods = [pod("a", true, Some(65.0)), pod("b", true, Some(65.0)), pod("c", true, Some(65.0))];
    // 65 / 60 = 1.083: |1 - 1.083| <= 0.1.
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &pods), Some(3));
    let pods = [pod("a", true, Some(67.0)), pod("b", true, Some(67.0)), pod("c", true, Some(67.0))];
    // 67 / 60 = 1.117: outside, ceil(1.117 x 3) = 4.
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &pods), Some(4));
}

#[test]
fn a_missing_pod_counts_as_the_target_when_scaling_down() {
    // First pass 30/60 = 0.5; second (30 + 30 + 60) / 3 = 40 -> 0.667 -> ceil(2.0) = 2.
    let pods = [pod("a", true, Some(30.0)), pod("b", true, Some(30.0)), pod("c", true, None)];
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &pods), Some(2));
}

#[test]
fn a_missing_pod_counts_as_zero_when_scaling_up() {
    // First pass 120/60 = 2; second (120 + 120 + 0) / 3 = 80 -> 1.333 -> ceil(4.0) = 4.
    let pods = [pod("a", true, Some(120.0)), pod("b", true, Some(120.0)), pod("c", true, None)];
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &pods), Some(4));
}

#[test]
fn a_second_pass_that_flips_direction_keeps_the_count() {
    // First pass 70/60 > 1 (up); with the missing pods at 0: 70/3/60 = 0.39 < 1 (down).
    let pods = [pod("a", true, Some(70.0)), pod("b", true, None), pod("c", true, None)];
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &pods), Some(3));
}

#[test]
fn ignored_pods_and_no_data() {
    let mut deleted = pod("c", true, Some(500.0));
    deleted.ignored = true;
    let pods = [pod("a", true, Some(60.0)), pod("b", true, Some(60.0)), deleted];
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &pods), Some(3));
    assert_eq!(replicas_for_metric(3, 60.0, DEFAULT_TOLERANCE, &[pod("a", false, None)]), None);
}

#[test]
fn several_metrics_take_the_largest_and_a_failed_one_blocks_scale_down() {
    assert_eq!(combine(3, &[Some(5), Some(4)]), 5);
    assert_eq!(combine(3, &[Some(2), Some(1)]), 2);
    assert_eq!(combine(3, &[None, Some(2)]), 3);
    assert_eq!(combine(3, &[None, Some(6)]), 6);
    assert_eq!(combine(3, &[None, None]), 3);
}

#[test]
fn default_scale_up_allows_max_of_4_pods_and_100_percent_per_15s() {
    let mut hpa = Autoscaler::new(1, 100, Behavior::default());
    assert_eq!(hpa.decide(0.0, 2, 20).desired, 6); // max(2 + 4, 2 x 2)
    assert_eq!(hpa.decide(5.0, 6, 20).desired, 6); // same period: start 2
    assert_eq!(hpa.decide(15.0, 6, 20).desired, 12); // new period: max(6 + 4, 12)
}

#[test]
fn the_charts_scale_up_policy_is_max_of_100_percent_and_2_pods_per_30s() {
    let c = chart();
    let mut hpa = Autoscaler::new(c.hpa.min_replicas, c.hpa.max_replicas, c.behavior());
    // t = 0: recommendation 9 from 3; the 30 s up window only holds this one.
    let d = hpa.decide(0.0, 3, 9);
    assert_eq!((d.stabilized, d.desired), (9, 6));
    // Inside the period the start count is still 3: no more than 6.
    assert_eq!(hpa.decide(15.0, 6, 9).desired, 6);
    // A new period: max(6 x 2, 6 + 2) = 12, clamped to maxReplicas 10.
    assert_eq!(hpa.decide(45.0, 6, 12).desired, 10);
}

#[test]
fn select_policy_min_picks_the_smallest_change() {
    let mut b = chart().behavior();
    b.scale_up.select_policy = SelectPolicy::Min;
    let mut hpa = Autoscaler::new(3, 10, b);
    assert_eq!(hpa.decide(0.0, 3, 9).desired, 5); // min(3 x 2, 3 + 2)
}

#[test]
fn disabled_select_policy_never_scales_that_way() {
    let mut b = chart().behavior();
    b.scale_down.select_policy = SelectPolicy::Disabled;
    b.scale_down.stabilization_window_seconds = 0.0;
    let mut hpa = Autoscaler::new(3, 10, b);
    assert_eq!(hpa.decide(0.0, 8, 3).desired, 8);
}

#[test]
fn scale_up_stabilisation_takes_the_minimum_in_its_window() {
    let c = chart();
    let mut hpa = Autoscaler::new(3, 10, c.behavior());
    assert_eq!(hpa.decide(0.0, 3, 3).desired, 3);
    // A spike to 5 right after a recommendation of 3 inside the 30 s window: no scale-up.
    assert_eq!(hpa.decide(15.0, 3, 5).desired, 3);
    // Once every recommendation in the window says 5, scale up.
    assert_eq!(hpa.decide(29.0, 3, 5).desired, 3);
    assert_eq!(hpa.decide(31.0, 3, 5).desired, 5);
}

#[test]
fn scale_down_waits_for_the_300s_window_then_goes_1_pod_per_60s() {
    let c = chart();
    let mut hpa = Autoscaler::new(c.hpa.min_replicas, c.hpa.max_replicas, c.behavior());
    assert_eq!(hpa.decide(0.0, 6, 6).desired, 6);
    let mut t = 15.0;
    while t < 300.0 {
        // Load dropped: the metric asks for 3, but 6 is still in the window.
        assert_eq!(hpa.decide(t, 6, 3).desired, 6, "no scale-down at t = {t}");
        t += 15.0;
    }
    // t = 300: the 6 left the window; Pods 1 per 60 s: 5, then 4 a period later.
    assert_eq!(hpa.decide(300.0, 6, 3).desired, 5);
    assert_eq!(hpa.decide(330.0, 5, 3).desired, 5);
    assert_eq!(hpa.decide(361.0, 5, 3).desired, 4);
}

#[test]
fn percent_scale_down_rounds_down_and_the_count_is_clamped() {
    let b = Behavior::default().scaled(0.0);
    let mut hpa = Autoscaler::new(3, 10, b);
    // 100 % per period: floor(8 x 0) = 0, clamped to minReplicas.
    assert_eq!(hpa.decide(0.0, 8, 1).desired, 3);
    let mut hpa = Autoscaler::new(3, 10, Behavior::default());
    assert_eq!(hpa.decide(0.0, 12, 12).desired, 10);
    assert_eq!(hpa.decide(0.0, 2, 2).desired, 3);
}

#[test]
fn the_chart_values_are_read_and_scaled_for_the_lab() {
    let c = chart();
    assert_eq!((c.hpa.min_replicas, c.hpa.max_replicas), (3, 10));
    assert_eq!(c.hpa.target_cpu_utilization_percentage, Some(70.0));
    assert_eq!(c.hpa.target_memory_utilization_percentage, Some(80.0));
    assert_eq!(c.resources.cpu_request, 0.25);
    assert_eq!(c.resources.cpu_limit, 0.5);
    assert_eq!(c.resources.memory_request, 256.0 * 1048576.0);
    let lab = c.behavior().scaled(0.1);
    assert_eq!(lab.scale_down.stabilization_window_seconds, 30.0);
    assert_eq!(lab.scale_up.stabilization_window_seconds, 3.0);
    assert_eq!(lab.scale_down.policies[0].period_seconds, 6.0);
}

#[test]
fn quantities() {
    assert_eq!(parse_cpu("250m").unwrap(), 0.25);
    assert_eq!(parse_cpu("2").unwrap(), 2.0);
    assert_eq!(parse_memory("1Gi").unwrap(), 1073741824.0);
    assert!(parse_cpu("lots").is_err());
}
