//! Writing the response: whole (JSON) or as server-sent events written to
//! the client as they are produced.

use llmos_guest::ApiError;
use spin_sdk::http::{Fields, OutgoingBody, OutgoingResponse, Response, ResponseOutparam};
use wasi::io::streams::OutputStream;

/// Largest write the output stream takes at once.
const WRITE_CHUNK: usize = 4096;

/// The response of one request, set exactly once.
pub struct Responder {
    out: Option<ResponseOutparam>,
    stream: Option<(OutputStream, OutgoingBody)>,
}

impl Responder {
    pub fn new(out: ResponseOutparam) -> Self {
        Responder {
            out: Some(out),
            stream: None,
        }
    }

    /// Whether an event stream has been started (errors then go into it).
    pub fn is_streaming(&self) -> bool {
        self.stream.is_some()
    }

    /// Sends a whole response.
    pub fn send(&mut self, response: Response) -> Result<(), ApiError> {
        let headers: Vec<(String, Vec<u8>)> = response
            .headers()
            .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
            .collect();
        let (stream, body) = self.open(*response.status(), &headers)?;
        write_all(&stream, response.body());
        finish(stream, body);
        Ok(())
    }

    /// Starts an event stream (status 200).
    pub fn start_events(&mut self) -> Result<(), ApiError> {
        if self.stream.is_some() {
            return Ok(());
        }
        let headers = vec![
            ("content-type".to_owned(), b"text/event-stream".to_vec()),
            ("cache-control".to_owned(), b"no-cache".to_vec()),
            ("x-accel-buffering".to_owned(), b"no".to_vec()),
        ];
        let opened = self.open(200, &headers)?;
        self.stream = Some(opened);
        Ok(())
    }

    /// Writes one event; starts the stream if needed. A client that went
    /// away is not an error of the turn.
    pub fn event(&mut self, name: &str, data: &serde_json::Value) -> Result<(), ApiError> {
        self.start_events()?;
        let text = format!("event: {name}\ndata: {data}\n\n");
        if let Some((stream, _)) = &self.stream {
            write_all(stream, text.as_bytes());
        }
        Ok(())
    }

    /// Ends the event stream.
    pub fn end(&mut self) {
        if let Some((stream, body)) = self.stream.take() {
            finish(stream, body);
        }
    }

    /// Answers with an error: the JSON error body, or an `error` event
    /// when a stream is already open.
    pub fn fail(&mut self, err: ApiError) {
        if self.stream.is_some() {
            let _ = self.event("error", &err.body());
            self.end();
            return;
        }
        if self.out.is_some() {
            let _ = self.send(err.into_response());
        }
    }

    fn open(
        &mut self,
        status: u16,
        headers: &[(String, Vec<u8>)],
    ) -> Result<(OutputStream, OutgoingBody), ApiError> {
        let out = self
            .out
            .take()
            .ok_or_else(|| ApiError::internal("the response was already sent"))?;
        let fields = Fields::from_list(headers)
            .map_err(|e| ApiError::internal(format_args!("response headers: {e:?}")))?;
        let response = OutgoingResponse::new(fields);
        response
            .set_status_code(status)
            .map_err(|_| ApiError::internal(format_args!("bad status {status}")))?;
        let body = response
            .body()
            .map_err(|_| ApiError::internal("response body unavailable"))?;
        out.set(response);
        let stream = body
            .write()
            .map_err(|_| ApiError::internal("response body unavailable"))?;
        Ok((stream, body))
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.end();
    }
}

fn write_all(stream: &OutputStream, bytes: &[u8]) {
    for chunk in bytes.chunks(WRITE_CHUNK) {
        if stream.blocking_write_and_flush(chunk).is_err() {
            return;
        }
    }
}

fn finish(stream: OutputStream, body: OutgoingBody) {
    drop(stream);
    let _ = OutgoingBody::finish(body, None);
}
