// Placing a terminal: a click on the plan fills in the form's latitude and longitude (the
// inverse of fleet/citymap.py's projection, read from the drawing's data attributes) and moves
// the marker. Nothing is sent until the operator presses the form's button; without
// JavaScript the same form takes the coordinates typed.
"use strict";

(function () {
  const svg = document.getElementById("place-svg");
  const lat = document.getElementById("place-lat");
  const lon = document.getElementById("place-lon");
  const marker = document.getElementById("place-marker");
  if (!svg || !lat || !lon) {
    return;
  }
  const box = {
    south: Number(svg.dataset.south),
    north: Number(svg.dataset.north),
    west: Number(svg.dataset.west),
    east: Number(svg.dataset.east),
    margin: Number(svg.dataset.margin),
    width: Number(svg.dataset.width),
    height: Number(svg.dataset.height),
  };
  svg.classList.add("clickable");
  svg.addEventListener("click", function (event) {
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const matrix = svg.getScreenCTM();
    if (!matrix) {
      return;
    }
    const local = point.matrixTransform(matrix.inverse());
    const fx = (local.x - box.margin) / (box.width - 2 * box.margin);
    const fy = (local.y - box.margin) / (box.height - 2 * box.margin);
    if (fx < 0 || fx > 1 || fy < 0 || fy > 1) {
      return;
    }
    lon.value = (box.west + fx * (box.east - box.west)).toFixed(5);
    lat.value = (box.north - fy * (box.north - box.south)).toFixed(5);
    if (marker) {
      marker.setAttribute("cx", local.x.toFixed(1));
      marker.setAttribute("cy", local.y.toFixed(1));
      marker.removeAttribute("visibility");
    }
    lat.dispatchEvent(new Event("change"));
  });
})();
