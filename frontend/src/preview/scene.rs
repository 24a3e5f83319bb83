//! Three.js previews of declarative scenes (`mesh` outputs).
//!
//! Skill code never touches Three.js: it returns a scene description, which
//! is validated here field by field (unknown kinds, bad numbers and
//! oversized scenes are refused with a message) and normalised with every
//! default filled in. Only the normalised scene reaches the trusted
//! renderer, `frontend/js/scene-view.js`, which builds the Three.js objects,
//! animates `spin` and lets the user orbit with the mouse.

use serde::Serialize;
use serde_json::{Map, Value};
use sycamore::prelude::*;
use wasm_bindgen::prelude::*;

/// Caps from `docs/skills.md`.
pub const MAX_OBJECTS: usize = 10_000;
pub const MAX_VERTICES: usize = 1_000_000;
const MAX_LIGHTS: usize = 16;
const MAX_SEGMENTS: u32 = 256;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scene {
    pub background: String,
    pub camera: Camera,
    pub lights: Vec<Light>,
    pub objects: Vec<Object>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Camera {
    pub position: [f64; 3],
    pub look_at: [f64; 3],
    pub fov: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Light {
    Ambient {
        color: String,
        intensity: f64,
    },
    Directional {
        color: String,
        intensity: f64,
        position: [f64; 3],
    },
    Point {
        color: String,
        intensity: f64,
        position: [f64; 3],
        distance: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Geometry {
    Box {
        width: f64,
        height: f64,
        depth: f64,
    },
    Sphere {
        radius: f64,
        segments: u32,
    },
    Cylinder {
        radius_top: f64,
        radius_bottom: f64,
        height: f64,
        segments: u32,
    },
    Cone {
        radius: f64,
        height: f64,
        segments: u32,
    },
    Torus {
        radius: f64,
        tube: f64,
        segments: u32,
    },
    Plane {
        width: f64,
        height: f64,
    },
    Mesh {
        vertices: Vec<[f64; 3]>,
        faces: Vec<[u32; 3]>,
    },
    Line {
        points: Vec<[f64; 3]>,
    },
}

impl Geometry {
    /// About how many vertices Three.js makes for it (for the size cap).
    fn vertex_estimate(&self) -> usize {
        let ring = |segments: u32| segments as usize + 1;
        match self {
            Geometry::Box { .. } => 24,
            Geometry::Plane { .. } => 4,
            Geometry::Sphere { segments, .. } => ring(*segments) * ring(segments.div_ceil(2)),
            Geometry::Cylinder { segments, .. } | Geometry::Cone { segments, .. } => {
                ring(*segments) * 4
            }
            Geometry::Torus { segments, .. } => ring(*segments) * ring(segments.div_ceil(2)),
            Geometry::Mesh { vertices, .. } => vertices.len(),
            Geometry::Line { points } => points.len(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Material {
    pub color: String,
    pub metalness: f64,
    pub roughness: f64,
    pub wireframe: bool,
    pub opacity: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Object {
    pub name: String,
    pub geometry: Geometry,
    pub material: Material,
    pub position: [f64; 3],
    pub rotation: [f64; 3],
    pub scale: [f64; 3],
    pub spin: [f64; 3],
}

/// Reads fields of one JSON object, naming the path in every error.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    fn of(value: &'a Value, path: &str) -> Result<Fields<'a>, String> {
        let map = value
            .as_object()
            .ok_or_else(|| format!("{path} must be an object"))?;
        Ok(Fields {
            map,
            path: path.to_owned(),
        })
    }

    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn number(&self, key: &str, default: Option<f64>) -> Result<f64, String> {
        match self.get(key) {
            None => default.ok_or_else(|| format!("{} is missing", self.at(key))),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("{} must be a finite number", self.at(key))),
        }
    }

    fn positive(&self, key: &str, default: Option<f64>) -> Result<f64, String> {
        let x = self.number(key, default)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(format!("{} must be greater than 0, got {x}", self.at(key)))
        }
    }

    fn unit(&self, key: &str, default: f64) -> Result<f64, String> {
        let x = self.number(key, Some(default))?;
        if (0.0..=1.0).contains(&x) {
            Ok(x)
        } else {
            Err(format!("{} must be between 0 and 1, got {x}", self.at(key)))
        }
    }

    fn vector(&self, key: &str, default: [f64; 3]) -> Result<[f64; 3], String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => vector(v, &self.at(key)),
        }
    }

    fn color(&self, key: &str, default: &str) -> Result<String, String> {
        match self.get(key) {
            None => Ok(default.to_owned()),
            Some(Value::String(s)) if is_hex_colour(s) => Ok(s.to_ascii_lowercase()),
            Some(_) => Err(format!("{} must be a colour \"#rrggbb\"", self.at(key))),
        }
    }

    fn segments(&self) -> Result<u32, String> {
        let x = self.number("segments", Some(32.0))?;
        if x.fract() == 0.0 && (3.0..=f64::from(MAX_SEGMENTS)).contains(&x) {
            Ok(x as u32)
        } else {
            Err(format!(
                "{} must be a whole number from 3 to {MAX_SEGMENTS}",
                self.at("segments")
            ))
        }
    }

    fn points(&self, key: &str) -> Result<Vec<[f64; 3]>, String> {
        let list = self
            .get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{} must be an array of [x, y, z]", self.at(key)))?;
        if list.len() > MAX_VERTICES {
            return Err(format!(
                "{} has more than {MAX_VERTICES} points",
                self.at(key)
            ));
        }
        list.iter()
            .enumerate()
            .map(|(i, v)| vector(v, &format!("{}[{i}]", self.at(key))))
            .collect()
    }
}

fn vector(value: &Value, path: &str) -> Result<[f64; 3], String> {
    let refused = || format!("{path} must be [x, y, z] of finite numbers");
    let items = value
        .as_array()
        .filter(|a| a.len() == 3)
        .ok_or_else(refused)?;
    let mut out = [0.0; 3];
    for (slot, item) in out.iter_mut().zip(items) {
        *slot = item
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(refused)?;
    }
    Ok(out)
}

fn is_hex_colour(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn light(value: &Value, path: &str) -> Result<Light, String> {
    let f = Fields::of(value, path)?;
    let color = f.color("color", "#ffffff")?;
    let intensity = f.number("intensity", Some(1.0))?;
    if intensity < 0.0 {
        return Err(format!("{} must not be negative", f.at("intensity")));
    }
    match f.get("kind").and_then(Value::as_str) {
        Some("ambient") => Ok(Light::Ambient { color, intensity }),
        Some("directional") => Ok(Light::Directional {
            color,
            intensity,
            position: f.vector("position", [5.0, 10.0, 7.0])?,
        }),
        Some("point") => {
            let distance = f.number("distance", Some(0.0))?;
            if distance < 0.0 {
                return Err(format!("{} must not be negative", f.at("distance")));
            }
            Ok(Light::Point {
                color,
                intensity,
                position: f.vector("position", [0.0, 5.0, 0.0])?,
                distance,
            })
        }
        Some(other) => Err(format!(
            "{path}.kind `{other}` is not a light kind (ambient, directional, point)"
        )),
        None => Err(format!("{path}.kind is missing")),
    }
}

fn geometry(value: &Value, path: &str) -> Result<Geometry, String> {
    let f = Fields::of(value, path)?;
    let geometry = match f.get("kind").and_then(Value::as_str) {
        Some("box") => Geometry::Box {
            width: f.positive("width", Some(1.0))?,
            height: f.positive("height", Some(1.0))?,
            depth: f.positive("depth", Some(1.0))?,
        },
        Some("sphere") => Geometry::Sphere {
            radius: f.positive("radius", None)?,
            segments: f.segments()?,
        },
        Some("cylinder") => {
            let radius_top = f.number("radius_top", None)?;
            let radius_bottom = f.number("radius_bottom", None)?;
            if radius_top < 0.0 || radius_bottom < 0.0 || radius_top + radius_bottom == 0.0 {
                return Err(format!("{path}: cylinder radii must be positive"));
            }
            Geometry::Cylinder {
                radius_top,
                radius_bottom,
                height: f.positive("height", None)?,
                segments: f.segments()?,
            }
        }
        Some("cone") => Geometry::Cone {
            radius: f.positive("radius", None)?,
            height: f.positive("height", None)?,
            segments: f.segments()?,
        },
        Some("torus") => Geometry::Torus {
            radius: f.positive("radius", None)?,
            tube: f.positive("tube", None)?,
            segments: f.segments()?,
        },
        Some("plane") => Geometry::Plane {
            width: f.positive("width", None)?,
            height: f.positive("height", None)?,
        },
        Some("mesh") => {
            let vertices = f.points("vertices")?;
            let faces = f
                .get("faces")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{} must be an array of [a, b, c]", f.at("faces")))?;
            let mut triangles = Vec::with_capacity(faces.len());
            for (i, face) in faces.iter().enumerate() {
                let at = format!("{}[{i}]", f.at("faces"));
                let items = face
                    .as_array()
                    .filter(|a| a.len() == 3)
                    .ok_or_else(|| format!("{at} must be [a, b, c]"))?;
                let mut triangle = [0u32; 3];
                for (slot, item) in triangle.iter_mut().zip(items) {
                    let index = item
                        .as_u64()
                        .filter(|i| (*i as usize) < vertices.len())
                        .ok_or_else(|| format!("{at} must hold indices into vertices"))?;
                    *slot = index as u32;
                }
                triangles.push(triangle);
            }
            Geometry::Mesh {
                vertices,
                faces: triangles,
            }
        }
        Some("line") => Geometry::Line {
            points: f.points("points")?,
        },
        Some(other) => {
            return Err(format!(
                "{path}.kind `{other}` is not a geometry kind (box, sphere, cylinder, cone, torus, plane, mesh, line)"
            ));
        }
        None => return Err(format!("{path}.kind is missing")),
    };
    Ok(geometry)
}

fn object(value: &Value, path: &str) -> Result<Object, String> {
    let f = Fields::of(value, path)?;
    let geometry = geometry(f.get("geometry").unwrap_or(&Value::Null), &f.at("geometry"))?;
    let empty = Value::Object(Map::new());
    let m = Fields::of(f.get("material").unwrap_or(&empty), &f.at("material"))?;
    let wireframe = match m.get("wireframe") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(format!("{} must be true or false", m.at("wireframe"))),
    };
    let name = match f.get("name") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(format!("{} must be a string", f.at("name"))),
    };
    Ok(Object {
        name,
        geometry,
        material: Material {
            color: m.color("color", "#cccccc")?,
            metalness: m.unit("metalness", 0.0)?,
            roughness: m.unit("roughness", 0.5)?,
            wireframe,
            opacity: m.unit("opacity", 1.0)?,
        },
        position: f.vector("position", [0.0; 3])?,
        rotation: f.vector("rotation", [0.0; 3])?,
        scale: f.vector("scale", [1.0; 3])?,
        spin: f.vector("spin", [0.0; 3])?,
    })
}

/// Validates a scene value and fills in every default.
pub fn parse_scene(value: &Value) -> Result<Scene, String> {
    let f = Fields::of(value, "scene")?;
    if f.get("type").and_then(Value::as_str) != Some("scene") {
        return Err("a scene must have \"type\": \"scene\"".into());
    }
    let camera = match f.get("camera") {
        None => Camera {
            position: [0.0, 0.0, 5.0],
            look_at: [0.0; 3],
            fov: 50.0,
        },
        Some(v) => {
            let c = Fields::of(v, "scene.camera")?;
            let fov = c.number("fov", Some(50.0))?;
            if !(1.0..=170.0).contains(&fov) {
                return Err(format!(
                    "scene.camera.fov must be from 1 to 170 degrees, got {fov}"
                ));
            }
            let camera = Camera {
                position: c.vector("position", [0.0, 0.0, 5.0])?,
                look_at: c.vector("look_at", [0.0; 3])?,
                fov,
            };
            if camera.position == camera.look_at {
                return Err("scene.camera.position must differ from look_at".into());
            }
            camera
        }
    };
    let lights = match f.get("lights") {
        None => vec![
            Light::Ambient {
                color: "#ffffff".into(),
                intensity: 0.4,
            },
            Light::Directional {
                color: "#ffffff".into(),
                intensity: 1.0,
                position: [5.0, 10.0, 7.0],
            },
        ],
        Some(Value::Array(list)) if list.len() <= MAX_LIGHTS => list
            .iter()
            .enumerate()
            .map(|(i, l)| light(l, &format!("scene.lights[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(format!(
                "scene.lights must be an array of at most {MAX_LIGHTS} lights"
            ));
        }
    };
    let list = f
        .get("objects")
        .and_then(Value::as_array)
        .ok_or("scene.objects must be an array")?;
    if list.len() > MAX_OBJECTS {
        return Err(format!(
            "the scene has {} objects; a preview shows at most {MAX_OBJECTS}",
            list.len()
        ));
    }
    let objects: Vec<Object> = list
        .iter()
        .enumerate()
        .map(|(i, o)| object(o, &format!("scene.objects[{i}]")))
        .collect::<Result<_, _>>()?;
    let vertices: usize = objects.iter().map(|o| o.geometry.vertex_estimate()).sum();
    if vertices > MAX_VERTICES {
        return Err(format!(
            "the scene has about {vertices} vertices; a preview shows at most {MAX_VERTICES}"
        ));
    }
    Ok(Scene {
        background: f.color("background", "#000000")?,
        camera,
        lights,
        objects,
    })
}

#[wasm_bindgen(module = "/js/scene-view.js")]
extern "C" {
    /// Renders the normalised scene (JSON text) into the canvas; resolves
    /// to a handle whose `dispose()` stops and frees everything.
    #[wasm_bindgen(js_name = mountScene)]
    fn mount_scene(canvas: &web_sys::HtmlCanvasElement, scene: &str) -> js_sys::Promise;
}

/// A live Three.js view of a validated scene.
#[component(inline_props)]
pub fn SceneView(scene: Scene) -> View {
    let canvas_ref = create_node_ref();
    let error = create_signal(None::<String>);
    let handle = create_signal(None::<JsValue>);
    let alive = create_signal(true);
    let text = serde_json::to_string(&scene).expect("a scene always serialises");
    on_mount(move || {
        use wasm_bindgen::JsCast;
        let Some(canvas) = canvas_ref
            .try_get()
            .and_then(|n| n.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        else {
            return;
        };
        let promise = mount_scene(&canvas, &text);
        sycamore::futures::spawn_local_scoped(async move {
            match wasm_bindgen_futures::JsFuture::from(promise).await {
                Ok(h) if alive.get() => handle.set(Some(h)),
                Ok(h) => dispose(&h),
                Err(err) => error.set(Some(crate::runtime::describe_js_error(&err))),
            }
        });
    });
    on_cleanup(move || {
        alive.set(false);
        if let Some(h) = handle.get_clone() {
            dispose(&h);
        }
    });
    view! {
        div(class="scene") {
            canvas(r#ref=canvas_ref, class="scene-canvas")
            p(class="scene-hint") {
                (match error.get_clone() {
                    Some(message) => format!("The 3D view could not start: {message}"),
                    None => "Drag to orbit · wheel to zoom · double-click to reset".to_owned(),
                })
            }
        }
    }
}

fn dispose(handle: &JsValue) {
    let dispose = js_sys::Reflect::get(handle, &"dispose".into()).ok();
    if let Some(f) =
        dispose.and_then(|f| wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(f).ok())
    {
        let _ = f.call0(handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_in_defaults() {
        let scene = parse_scene(&json!({
            "type": "scene",
            "objects": [{"geometry": {"kind": "sphere", "radius": 1}}]
        }))
        .unwrap();
        assert_eq!(scene.background, "#000000");
        assert_eq!(scene.camera.position, [0.0, 0.0, 5.0]);
        assert_eq!(scene.lights.len(), 2);
        let object = &scene.objects[0];
        assert_eq!(
            object.geometry,
            Geometry::Sphere {
                radius: 1.0,
                segments: 32
            }
        );
        assert_eq!(object.material.color, "#cccccc");
        assert_eq!(object.scale, [1.0; 3]);
        let text = serde_json::to_value(&scene).unwrap();
        assert_eq!(text["objects"][0]["geometry"]["kind"], "sphere");
        assert_eq!(text["lights"][0]["kind"], "ambient");
    }

    #[test]
    fn refuses_unknown_kinds_and_bad_fields_by_path() {
        let err =
            parse_scene(&json!({"type": "scene", "objects": [{"geometry": {"kind": "teapot"}}]}))
                .unwrap_err();
        assert!(
            err.starts_with("scene.objects[0].geometry.kind `teapot` is not a geometry kind"),
            "{err}"
        );
        let err = parse_scene(&json!({"type": "scene", "objects": [
            {"geometry": {"kind": "box"}, "material": {"color": "red"}}
        ]}))
        .unwrap_err();
        assert_eq!(
            err,
            "scene.objects[0].material.color must be a colour \"#rrggbb\""
        );
        let err = parse_scene(&json!({"type": "scene", "objects": [
            {"geometry": {"kind": "mesh", "vertices": [[0, 0, 0]], "faces": [[0, 0, 1]]}}
        ]}))
        .unwrap_err();
        assert!(err.contains("faces[0] must hold indices"), "{err}");
        assert!(parse_scene(&json!({"type": "plot", "objects": []})).is_err());
    }

    #[test]
    fn caps_the_size_of_scenes() {
        let objects: Vec<Value> = (0..10_001)
            .map(|_| json!({"geometry": {"kind": "box"}}))
            .collect();
        let err = parse_scene(&json!({"type": "scene", "objects": objects})).unwrap_err();
        assert!(err.contains("at most 10000"), "{err}");
        let spheres: Vec<Value> = (0..100)
            .map(|_| json!({"geometry": {"kind": "sphere", "radius": 1, "segments": 256}}))
            .collect();
        let err = parse_scene(&json!({"type": "scene", "objects": spheres})).unwrap_err();
        assert!(err.contains("vertices"), "{err}");
    }

    #[test]
    fn accepts_the_cube_skill_scene() {
        let scene = parse_scene(&json!({
            "type": "scene", "background": "#10141c",
            "camera": {"position": [1.76, 1.32, 2.2], "look_at": [0, 0, 0], "fov": 50},
            "lights": [{"kind": "ambient", "color": "#ffffff", "intensity": 0.45},
                       {"kind": "directional", "color": "#ffffff", "intensity": 1.0, "position": [3, 5, 4]}],
            "objects": [{"name": "cube", "geometry": {"kind": "box", "width": 1, "height": 1, "depth": 1},
                         "material": {"color": "#4f8cff", "metalness": 0.15, "roughness": 0.45, "wireframe": false, "opacity": 1},
                         "position": [0, 0, 0], "rotation": [0.39, 0.63, 0], "spin": [0.31, 1.57, 0]}]
        }))
        .unwrap();
        assert_eq!(scene.objects[0].spin, [0.31, 1.57, 0.0]);
    }
}
