//! Reading and writing the two SPA pods the daemon cares about: a node's `Props` and a
//! device's `Route`. Kept apart from the PipeWire thread so they can be tested alone.

use crate::volume::Volume;
use pipewire::spa::pod::deserialize::PodDeserializer;
use pipewire::spa::pod::serialize::PodSerializer;
use pipewire::spa::pod::{Object, Pod, Property, PropertyFlags, Value, ValueArray};
use pipewire::spa::sys;

/// The volume fields of a `Props` object; either may be absent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PropsVolume {
    pub channels: Option<Vec<f32>>,
    pub mute: Option<bool>,
}

/// An active route with the volume it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub index: i32,
    pub device: i32,
    pub volume: Volume,
}

fn object(pod: &Pod) -> Option<Object> {
    match PodDeserializer::deserialize_any_from(pod.as_bytes()) {
        Ok((_, Value::Object(o))) => Some(o),
        _ => None,
    }
}

fn props_fields(properties: Vec<Property>) -> PropsVolume {
    let mut out = PropsVolume::default();
    for p in properties {
        match (p.key, p.value) {
            (sys::SPA_PROP_channelVolumes, Value::ValueArray(ValueArray::Float(v))) => {
                out.channels = Some(v)
            }
            (sys::SPA_PROP_mute, Value::Bool(m)) => out.mute = Some(m),
            _ => {}
        }
    }
    out
}

/// Parses a node's `Props` param.
pub fn parse_props(pod: &Pod) -> Option<PropsVolume> {
    let o = object(pod)?;
    (o.type_ == sys::SPA_TYPE_OBJECT_Props).then(|| props_fields(o.properties))
}

/// Parses a device's `Route` param; routes without volume (no props) are skipped.
pub fn parse_route(pod: &Pod) -> Option<Route> {
    let o = object(pod)?;
    if o.type_ != sys::SPA_TYPE_OBJECT_ParamRoute {
        return None;
    }
    let (mut index, mut device, mut props) = (None, None, None);
    for p in o.properties {
        match (p.key, p.value) {
            (sys::SPA_PARAM_ROUTE_index, Value::Int(i)) => index = Some(i),
            (sys::SPA_PARAM_ROUTE_device, Value::Int(d)) => device = Some(d),
            (sys::SPA_PARAM_ROUTE_props, Value::Object(o)) => {
                props = Some(props_fields(o.properties))
            }
            _ => {}
        }
    }
    let props = props?;
    Some(Route {
        index: index?,
        device: device?,
        volume: Volume {
            channels: props.channels?,
            mute: props.mute.unwrap_or(false),
        },
    })
}

fn volume_properties(v: &Volume) -> Vec<Property> {
    vec![
        Property {
            key: sys::SPA_PROP_channelVolumes,
            flags: PropertyFlags::empty(),
            value: Value::ValueArray(ValueArray::Float(v.channels.clone())),
        },
        Property {
            key: sys::SPA_PROP_mute,
            flags: PropertyFlags::empty(),
            value: Value::Bool(v.mute),
        },
    ]
}

fn serialize(value: &Value) -> Vec<u8> {
    PodSerializer::serialize(std::io::Cursor::new(Vec::new()), value)
        .map(|(c, _)| c.into_inner())
        // Serializing into a Vec cannot run out of room; an empty pod is refused by
        // `Pod::from_bytes` and the caller skips the set_param.
        .unwrap_or_default()
}

/// A `Props` object setting channel volumes and mute.
pub fn props_pod(v: &Volume) -> Vec<u8> {
    serialize(&Value::Object(Object {
        type_: sys::SPA_TYPE_OBJECT_Props,
        id: sys::SPA_PARAM_Props,
        properties: volume_properties(v),
    }))
}

/// A `Route` object setting a route's volume, saved so the session manager keeps it.
pub fn route_pod(index: i32, device: i32, v: &Volume) -> Vec<u8> {
    let prop = |key, value| Property {
        key,
        flags: PropertyFlags::empty(),
        value,
    };
    serialize(&Value::Object(Object {
        type_: sys::SPA_TYPE_OBJECT_ParamRoute,
        id: sys::SPA_PARAM_Route,
        properties: vec![
            prop(sys::SPA_PARAM_ROUTE_index, Value::Int(index)),
            prop(sys::SPA_PARAM_ROUTE_device, Value::Int(device)),
            prop(
                sys::SPA_PARAM_ROUTE_props,
                Value::Object(Object {
                    type_: sys::SPA_TYPE_OBJECT_Props,
                    id: sys::SPA_PARAM_Route,
                    properties: volume_properties(v),
                }),
            ),
            prop(sys::SPA_PARAM_ROUTE_save, Value::Bool(true)),
        ],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol() -> Volume {
        Volume {
            channels: vec![0.25, 0.5],
            mute: true,
        }
    }

    #[test]
    fn props_round_trip() {
        let bytes = props_pod(&vol());
        let pod = Pod::from_bytes(&bytes).unwrap();
        assert_eq!(
            parse_props(pod),
            Some(PropsVolume {
                channels: Some(vec![0.25, 0.5]),
                mute: Some(true)
            })
        );
        assert_eq!(parse_route(pod), None, "a Props pod is no route");
    }

    #[test]
    fn route_round_trip() {
        let bytes = route_pod(3, 7, &vol());
        let pod = Pod::from_bytes(&bytes).unwrap();
        assert_eq!(
            parse_route(pod),
            Some(Route {
                index: 3,
                device: 7,
                volume: vol()
            })
        );
        assert_eq!(parse_props(pod), None);
    }
}
