/* Suara Pesisir dashboard: the calendar's drag and drop (SortableJS, touch too), the map and
   the story's small map (Leaflet, clustered; the shipped NTT outline is always drawn, so the
   map works without tiles). Plain JavaScript, no build step. */
(function () {
  "use strict";

  function post(url, values) {
    // htmx adds the CSRF header (hx-headers on <body>); HX-Refresh in the answer reloads.
    return htmx.ajax("POST", url, { values: values, target: "#cal-status", swap: "innerHTML" });
  }

  function calendar() {
    var root = document.getElementById("calendar");
    if (!root || root.dataset.canPlan !== "yes" || typeof Sortable === "undefined") return;
    var zone = root.dataset.timezone;
    var status = document.getElementById("cal-status");
    function dropped(event) {
      var item = event.item, slot = event.to;
      var at = slot.dataset.at || (slot.dataset.date + " " + item.dataset.time);
      status.textContent = "…";
      if (item.dataset.kind === "post") {
        post("/calendar/move", { delivery_id: item.dataset.id, at: at, timezone: zone });
      } else {
        post("/calendar/schedule", {
          ref: item.dataset.ref, version: item.dataset.version, at: at, timezone: zone,
          campaign: slot.dataset.campaign || root.dataset.campaign || ""
        });
      }
    }
    document.querySelectorAll("#calendar .slot").forEach(function (slot) {
      Sortable.create(slot, {
        group: { name: "calendar", pull: true, put: true },
        animation: 120, delay: 150, delayOnTouchOnly: true, draggable: ".post",
        filter: "a", preventOnFilter: false,
        onAdd: dropped
      });
    });
    var tray = document.getElementById("tray");
    if (tray) {
      Sortable.create(tray, {
        group: { name: "calendar", pull: true, put: false }, sort: false,
        animation: 120, delay: 150, delayOnTouchOnly: true, draggable: ".story"
      });
    }
  }

  var PALETTE = ["#0b6e8a", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#2c3e50", "#16a085",
    "#b7950b", "#7f8c8d", "#e84393", "#0984e3", "#6c5ce7", "#00b894", "#636e72"];

  function outline(map, url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (data) {
        L.geoJSON(data, { style: { color: "#6b8794", weight: 1, fillColor: "#f4efe1", fillOpacity: 1 } })
          .addTo(map);
      });
  }

  function baseMap(element, zoom) {
    var map = L.map(element, { maxZoom: 16, minZoom: 6, zoomSnap: 0.5 });
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    map.attributionControl.addAttribution("Natural Earth");
    var tiles = element.dataset.tiles;
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 16, attribution: "© OpenStreetMap" }).addTo(map);
    }
    map.setView([-9.6, 122.0], zoom);
    return map;
  }

  function bigMap() {
    var element = document.getElementById("map");
    if (!element || typeof L === "undefined") return;
    var labels = JSON.parse(document.getElementById("labels").textContent);
    var by = element.dataset.colour === "state" ? "states" : "themes";
    var map = baseMap(element, 7);
    var colours = {}, used = 0;
    function colour(key) {
      if (!(key in colours)) colours[key] = PALETTE[used++ % PALETTE.length];
      return colours[key];
    }
    outline(map, element.dataset.outline).then(function () {
      return fetch("/map/data.json?" + element.dataset.query, { credentials: "same-origin" });
    }).then(function (r) { return r.json(); }).then(function (data) {
      var cluster = L.markerClusterGroup({ maxClusterRadius: 40 });
      var bounds = [];
      (data.places || []).forEach(function (place) {
        var counts = place[by], main = null, best = -1;
        Object.keys(counts).forEach(function (k) { if (counts[k] > best) { best = counts[k]; main = k; } });
        var size = Math.min(34, 12 + Math.sqrt(place.total) * 2);
        var marker = L.circleMarker([place.lat, place.lon], {
          radius: size / 2, color: "#fff", weight: 1.5, fillColor: colour(main), fillOpacity: 0.85
        });
        var lines = Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a]; })
          .map(function (k) { return (labels[by][k] || k) + ": " + counts[k]; });
        var link = "/queue?state=all&place=" + encodeURIComponent(place.id);
        marker.bindPopup("<strong>" + place.name + "</strong><br>" + place.total + " " +
          element.dataset.labelStories + "<br>" + lines.join("<br>") + '<br><a href="' + link + '">→</a>');
        marker.options.placeId = place.id;
        cluster.addLayer(marker);
        bounds.push([place.lat, place.lon]);
      });
      map.addLayer(cluster);
      if (bounds.length) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 11 });
      var legend = document.getElementById("legend");
      Object.keys(colours).forEach(function (k) {
        var li = document.createElement("li");
        li.innerHTML = '<i style="background:' + colours[k] + '"></i>';
        li.appendChild(document.createTextNode(labels[by][k] || k));
        legend.appendChild(li);
      });
      element.dataset.ready = String((data.places || []).length);
    });
  }

  function miniMap() {
    var element = document.getElementById("minimap");
    if (!element || typeof L === "undefined") return;
    var point = [parseFloat(element.dataset.lat), parseFloat(element.dataset.lon)];
    var map = baseMap(element, 11);
    outline(map, element.dataset.outline).then(function () {
      map.setView(point, element.dataset.exact === "yes" ? 13 : 11);
      L.circleMarker(point, { radius: 8, color: "#fff", weight: 2, fillColor: "#c0392b", fillOpacity: 0.9 }).addTo(map);
      element.dataset.ready = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    calendar();
    bigMap();
    miniMap();
  });
})();
