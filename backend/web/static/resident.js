/* Progressive help for the residents' pages; every form also works without it. */
(function () {
  "use strict";
  var locate = document.getElementById("locate");
  if (locate && navigator.geolocation) {
    var status = document.getElementById("locate-status");
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = locate.dataset.wait;
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
        document.getElementById("lon").value = pos.coords.longitude.toFixed(6);
        status.textContent = locate.dataset.ok;
      }, function () { status.textContent = locate.dataset.fail; },
      { enableHighAccuracy: true, timeout: 15000 });
    });
  }
  var township = document.getElementById("township");
  var village = document.getElementById("village");
  if (township && village) {
    var filter = function () {
      var groups = village.querySelectorAll("optgroup");
      for (var i = 0; i < groups.length; i++) {
        var show = !township.value || groups[i].dataset.township === township.value;
        groups[i].hidden = !show;
        groups[i].disabled = !show;
      }
      var picked = village.selectedOptions[0];
      if (picked && picked.parentNode.disabled) { village.value = ""; }
    };
    township.addEventListener("change", filter);
    filter();
  }
  // One press sends a form once: buttons are disabled just after the form goes out.
  var forms = document.querySelectorAll("form[method=post]");
  for (var f = 0; f < forms.length; f++) {
    forms[f].addEventListener("submit", function (e) {
      var buttons = e.target.querySelectorAll("button[type=submit]");
      setTimeout(function () {
        for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
      }, 0);
    });
  }
  var backs = document.querySelectorAll("[data-back]");
  for (var b = 0; b < backs.length; b++) {
    backs[b].addEventListener("click", function (e) {
      if (history.length > 1) { e.preventDefault(); history.back(); }
    });
  }
  var form = document.getElementById("pow-form");
  if (form && window.crypto && crypto.subtle && window.TextEncoder) {
    var challenge = document.getElementById("pow-challenge").value;
    var out = document.getElementById("pow-answer");
    var button = document.getElementById("pow-submit");
    var enc = new TextEncoder();
    var n = 0;
    var step = function () {
      var tries = [];
      for (var k = 0; k < 256; k++) {
        tries.push(crypto.subtle.digest("SHA-256", enc.encode(challenge + ":" + (n + k))));
      }
      Promise.all(tries).then(function (digests) {
        for (var k = 0; k < digests.length; k++) {
          var b = new Uint8Array(digests[k]);
          if (b[0] === 0 && b[1] === 0) {
            out.value = String(n + k);
            button.disabled = false;
            if (!form.querySelector("input[type=file]")) { form.submit(); }
            return;
          }
        }
        n += 256;
        step();
      });
    };
    step();
  }
})();
