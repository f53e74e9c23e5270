// The widget manager (embed-amd.js, @jupyter-widgets/controls) typesets labels with MathJax 2's
// `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`; the book loads MathJax 3, which has no Hub, so every
// widget with a description threw "Cannot read properties of undefined (reading 'Queue')". Give whatever object
// `window.MathJax` is (Sphinx's configuration, then MathJax 3 itself) a Hub that forwards to typesetPromise.
(function () {
  "use strict";
  var hub = {
    Queue: function () {
      var mathjax = window.MathJax;
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (Array.isArray(job) && job[0] === "Typeset" && job[2] && mathjax && mathjax.typesetPromise) {
          mathjax.typesetPromise([job[2]]).catch(function () {});
        }
      }
    },
  };
  var current = window.MathJax;
  function withHub(value) {
    if (value && typeof value === "object" && !value.Hub) {
      try {
        Object.defineProperty(value, "Hub", { value: hub, enumerable: false, configurable: true });
      } catch (e) {
        /* a frozen object: leave it */
      }
    }
    return value;
  }
  withHub(current);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () {
      return current;
    },
    set: function (value) {
      current = withHub(value);
    },
  });
})();
