//! The PNG of `wgconv train --plot`: training loss and test accuracy per
//! epoch, side by side. Text is drawn with the DejaVu Sans font embedded in
//! the binary (assets/), so no system fonts are needed.

use plotters::prelude::*;
use std::path::Path;
use wgconv::train::EpochReport;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

pub fn training_curves(
    path: &Path,
    reports: &[EpochReport],
    title: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the embedded font could not be loaded")?;
    // Drawn to a temporary file beside `path` (its extension chooses the
    // encoder), then renamed: a crash never leaves a torn picture.
    let name = path.file_name().ok_or("the plot path is not a file name")?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp{}.png",
        name.to_string_lossy(),
        std::process::id()
    ));
    draw(&tmp, reports, title).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn draw(
    path: &Path,
    reports: &[EpochReport],
    title: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let (left, right) = root.split_horizontally(500);
    let epochs = reports.len().max(1) as f64;
    let x_range = 1.0..epochs.max(2.0);

    let max_loss = reports
        .iter()
        .map(|r| r.train_loss as f64)
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.1;
    let mut loss = ChartBuilder::on(&left)
        .caption("training loss (softmax cross-entropy)", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range.clone(), 0.0..max_loss)?;
    loss.configure_mesh()
        .x_desc("epoch")
        .x_labels(reports.len().clamp(2, 12))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("loss")
        .label_style(("sans-serif", 13))
        .draw()?;
    loss.draw_series(LineSeries::new(
        reports
            .iter()
            .map(|r| (r.epoch as f64, r.train_loss as f64)),
        BLUE.stroke_width(2),
    ))?;
    loss.draw_series(
        reports
            .iter()
            .map(|r| Circle::new((r.epoch as f64, r.train_loss as f64), 3, BLUE.filled())),
    )?;

    let min_acc = reports
        .iter()
        .map(|r| 100.0 * r.test_accuracy as f64)
        .fold(100.0, f64::min);
    let floor = (min_acc - 5.0).clamp(0.0, 90.0).floor();
    let mut acc = ChartBuilder::on(&right)
        .caption("test accuracy", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range, floor..100.0)?;
    acc.configure_mesh()
        .x_desc("epoch")
        .x_labels(reports.len().clamp(2, 12))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("accuracy (%)")
        .label_style(("sans-serif", 13))
        .draw()?;
    acc.draw_series(LineSeries::new(
        reports
            .iter()
            .map(|r| (r.epoch as f64, 100.0 * r.test_accuracy as f64)),
        RED.stroke_width(2),
    ))?;
    acc.draw_series(reports.iter().map(|r| {
        Circle::new(
            (r.epoch as f64, 100.0 * r.test_accuracy as f64),
            3,
            RED.filled(),
        )
    }))?;
    root.present()?;
    Ok(())
}
