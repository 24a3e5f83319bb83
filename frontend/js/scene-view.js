// The trusted Three.js renderer of the scene previews. It receives a scene
// that the page has already validated and normalised (every field present
// and in range, see frontend/src/preview/scene.rs) and draws it into a
// canvas: `spin` advances rotations every frame, dragging orbits the camera
// around its target, the wheel zooms and a double-click restores the view.
//
// three.js is loaded from the app's /vendor/three/ the first time a scene
// is shown, so pages without 3D never download it.

let three = null;

function loadThree() {
  three ??= import("/vendor/three/three.module.js");
  return three;
}

function buildGeometry(THREE, g) {
  switch (g.kind) {
    case "box":
      return new THREE.BoxGeometry(g.width, g.height, g.depth);
    case "sphere":
      return new THREE.SphereGeometry(g.radius, g.segments, Math.max(2, Math.ceil(g.segments / 2)));
    case "cylinder":
      return new THREE.CylinderGeometry(g.radius_top, g.radius_bottom, g.height, g.segments);
    case "cone":
      return new THREE.ConeGeometry(g.radius, g.height, g.segments);
    case "torus":
      return new THREE.TorusGeometry(g.radius, g.tube, Math.max(3, Math.ceil(g.segments / 2)), g.segments);
    case "plane":
      return new THREE.PlaneGeometry(g.width, g.height);
    case "mesh": {
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute("position", new THREE.Float32BufferAttribute(g.vertices.flat(), 3));
      geometry.setIndex(g.faces.flat());
      geometry.computeVertexNormals();
      return geometry;
    }
    case "line":
      return new THREE.BufferGeometry().setFromPoints(g.points.map((p) => new THREE.Vector3(...p)));
    default:
      throw new Error(`unknown geometry ${g.kind}`);
  }
}

function buildObject(THREE, o) {
  const geometry = buildGeometry(THREE, o.geometry);
  let node;
  if (o.geometry.kind === "line") {
    node = new THREE.Line(geometry, new THREE.LineBasicMaterial({ color: o.material.color }));
  } else {
    const material = new THREE.MeshStandardMaterial({
      color: o.material.color,
      metalness: o.material.metalness,
      roughness: o.material.roughness,
      wireframe: o.material.wireframe,
      transparent: o.material.opacity < 1,
      opacity: o.material.opacity,
      // Planes and free-form meshes are seen from both sides.
      side: o.geometry.kind === "plane" || o.geometry.kind === "mesh" ? THREE.DoubleSide : THREE.FrontSide,
    });
    node = new THREE.Mesh(geometry, material);
  }
  node.name = o.name;
  node.position.set(...o.position);
  node.rotation.set(o.rotation[0], o.rotation[1], o.rotation[2], "XYZ");
  node.scale.set(...o.scale);
  return node;
}

function buildLight(THREE, l) {
  switch (l.kind) {
    case "ambient":
      return new THREE.AmbientLight(l.color, l.intensity);
    case "directional": {
      // Shines from its position towards the origin (its default target).
      const light = new THREE.DirectionalLight(l.color, l.intensity);
      light.position.set(...l.position);
      return light;
    }
    case "point": {
      // Decay 0: `intensity` means the same as for the other lights,
      // instead of physical candela falling off with distance squared.
      const light = new THREE.PointLight(l.color, l.intensity, l.distance, 0);
      light.position.set(...l.position);
      return light;
    }
    default:
      throw new Error(`unknown light ${l.kind}`);
  }
}

/// Renders `sceneJson` into `canvas`; resolves to `{dispose()}`.
export async function mountScene(canvas, sceneJson) {
  const THREE = await loadThree();
  const spec = JSON.parse(sceneJson);

  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true });
  renderer.setPixelRatio(Math.min(globalThis.devicePixelRatio || 1, 2));
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(spec.background);
  for (const light of spec.lights) scene.add(buildLight(THREE, light));
  const spinning = [];
  for (const o of spec.objects) {
    const node = buildObject(THREE, o);
    scene.add(node);
    if (o.spin.some((s) => s !== 0)) spinning.push([node, o.spin]);
  }

  // Orbit: the camera sits on a sphere around `look_at`.
  const target = new THREE.Vector3(...spec.camera.look_at);
  const home = new THREE.Spherical().setFromVector3(new THREE.Vector3(...spec.camera.position).sub(target));
  const orbit = home.clone();
  const camera = new THREE.PerspectiveCamera(spec.camera.fov, 1, home.radius / 1000, home.radius * 1000);
  const placeCamera = () => {
    orbit.makeSafe();
    camera.position.setFromSpherical(orbit).add(target);
    camera.lookAt(target);
  };
  placeCamera();

  const resize = () => {
    const width = Math.max(1, canvas.clientWidth);
    const height = Math.max(1, canvas.clientHeight);
    renderer.setSize(width, height, false);
    camera.aspect = width / height;
    camera.updateProjectionMatrix();
  };
  resize();
  const resizeObserver = new ResizeObserver(resize);
  resizeObserver.observe(canvas);

  let drag = null;
  const onPointerDown = (event) => {
    drag = { x: event.clientX, y: event.clientY, id: event.pointerId };
    canvas.setPointerCapture(event.pointerId);
  };
  const onPointerMove = (event) => {
    if (!drag || drag.id !== event.pointerId) return;
    // A drag across the canvas turns the view by about one revolution.
    const perPixel = (2 * Math.PI) / Math.max(200, canvas.clientWidth);
    orbit.theta -= (event.clientX - drag.x) * perPixel;
    orbit.phi -= (event.clientY - drag.y) * perPixel;
    drag.x = event.clientX;
    drag.y = event.clientY;
    placeCamera();
  };
  const onPointerUp = (event) => {
    if (drag && drag.id === event.pointerId) drag = null;
  };
  const onWheel = (event) => {
    event.preventDefault();
    const factor = Math.exp(Math.sign(event.deltaY) * Math.min(Math.abs(event.deltaY), 200) * 0.002);
    orbit.radius = Math.min(home.radius * 20, Math.max(home.radius / 20, orbit.radius * factor));
    placeCamera();
  };
  const onDoubleClick = () => {
    orbit.copy(home);
    placeCamera();
  };
  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerUp);
  canvas.addEventListener("pointercancel", onPointerUp);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  canvas.addEventListener("dblclick", onDoubleClick);

  // Draw only while the canvas is on screen.
  let visible = true;
  const visibility = new IntersectionObserver((entries) => {
    visible = entries.some((entry) => entry.isIntersecting);
  });
  visibility.observe(canvas);

  let frame = 0;
  let last = performance.now();
  const tick = (now) => {
    // Long pauses (a hidden tab) do not make objects jump.
    const dt = Math.min(0.1, (now - last) / 1000);
    last = now;
    for (const [node, spin] of spinning) {
      node.rotation.x += spin[0] * dt;
      node.rotation.y += spin[1] * dt;
      node.rotation.z += spin[2] * dt;
    }
    if (visible) renderer.render(scene, camera);
    frame = requestAnimationFrame(tick);
  };
  renderer.render(scene, camera);
  frame = requestAnimationFrame(tick);

  return {
    dispose() {
      cancelAnimationFrame(frame);
      resizeObserver.disconnect();
      visibility.disconnect();
      canvas.removeEventListener("pointerdown", onPointerDown);
      canvas.removeEventListener("pointermove", onPointerMove);
      canvas.removeEventListener("pointerup", onPointerUp);
      canvas.removeEventListener("pointercancel", onPointerUp);
      canvas.removeEventListener("wheel", onWheel);
      canvas.removeEventListener("dblclick", onDoubleClick);
      scene.traverse((node) => {
        node.geometry?.dispose();
        node.material?.dispose();
      });
      renderer.dispose();
      // Browsers cap live WebGL contexts; give this one back now.
      renderer.forceContextLoss();
    },
  };
}
