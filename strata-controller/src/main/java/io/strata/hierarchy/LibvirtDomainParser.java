package io.strata.hierarchy;

import io.strata.core.CloudException;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * Reads a libvirt domain XML with a real XML parser (no DTDs, no external entities: templates come
 * from API callers). Elements Strata cannot honour on its hosts — host devices, shared
 * filesystems, NUMA tuning… — are refused by name rather than silently dropped.
 */
public final class LibvirtDomainParser {
    private static final Set<String> DOMAIN_TYPES = Set.of("kvm", "qemu", "test");
    /** Top-level elements that are read, or harmless to ignore because the host decides them. */
    private static final Set<String> DOMAIN_CHILDREN = Set.of("name", "uuid", "title", "description", "metadata", "memory",
            "currentMemory", "vcpu", "os", "features", "clock", "cpu", "on_poweroff", "on_reboot", "on_crash", "devices", "resource",
            "pm");
    private static final Set<String> DEVICES = Set.of("emulator", "disk", "controller", "interface", "serial", "console", "graphics",
            "input", "memballoon", "video", "channel", "rng", "sound", "watchdog");
    private static final Set<String> DISK_TYPES = Set.of("file", "block");
    private static final Set<String> DISK_DEVICES = Set.of("disk", "cdrom");
    private static final Set<String> INTERFACE_TYPES = Set.of("bridge", "network", "user", "ethernet");
    private static final Pattern UUID = Pattern.compile("[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}");
    private static final Pattern NAME = Pattern.compile("[^/\\s][^/]{0,254}");

    private LibvirtDomainParser() {}

    public static LibvirtDomain parse(String xml) {
        Element domain = document(xml).getDocumentElement();
        if (!domain.getTagName().equals("domain")) {
            throw invalid("the root element is <%s>, not <domain>", domain.getTagName());
        }
        String type = domain.getAttribute("type");
        if (!DOMAIN_TYPES.contains(type)) {
            throw invalid("domain type '%s' is not supported (use kvm or qemu)", type);
        }
        for (Element child : children(domain)) {
            if (!DOMAIN_CHILDREN.contains(child.getTagName())) {
                throw invalid("element <%s> is not supported", child.getTagName());
            }
        }
        String name = requiredText(domain, "name");
        if (!NAME.matcher(name).matches()) {
            throw invalid("<name> '%s' is not a valid domain name", name);
        }
        String uuid = optionalText(domain, "uuid");
        if (uuid != null && !UUID.matcher(uuid).matches()) {
            throw invalid("<uuid> '%s' is not a UUID", uuid);
        }
        Element memory = child(domain, "memory");
        if (memory == null) {
            throw invalid("<memory> is missing");
        }
        long memoryKb = kibibytes(memory);
        if (memoryKb < 1024) {
            throw invalid("<memory> %d KiB is less than 1 MiB", memoryKb);
        }
        int vcpus = positiveInt(requiredText(domain, "vcpu"), "vcpu");
        List<LibvirtDomain.Disk> disks = new ArrayList<>();
        List<LibvirtDomain.NetInterface> interfaces = new ArrayList<>();
        Element devices = child(domain, "devices");
        if (devices != null) {
            for (Element device : children(devices)) {
                String tag = device.getTagName();
                if (!DEVICES.contains(tag)) {
                    throw invalid("device <%s> is not supported", tag);
                }
                if (tag.equals("disk")) {
                    disks.add(disk(device));
                } else if (tag.equals("interface")) {
                    interfaces.add(netInterface(device));
                }
            }
        }
        return new LibvirtDomain(type, name, uuid, memoryKb, vcpus, disks, interfaces);
    }

    /**
     * The template rewritten to what the VM really got, as Snooze's xmlRepresentation shows it:
     * the server's UUID and MAC address.
     */
    public static String rewrite(String xml, String uuid, String mac) {
        Document doc = document(xml);
        Element domain = doc.getDocumentElement();
        Element uuidElement = child(domain, "uuid");
        if (uuidElement == null) {
            uuidElement = doc.createElement("uuid");
            domain.insertBefore(uuidElement, child(domain, "name").getNextSibling());
        }
        uuidElement.setTextContent(uuid);
        Element devices = child(domain, "devices");
        if (devices != null && mac != null) {
            for (Element device : children(devices)) {
                if (device.getTagName().equals("interface")) {
                    Element macElement = child(device, "mac");
                    if (macElement == null) {
                        macElement = doc.createElement("mac");
                        device.insertBefore(macElement, device.getFirstChild());
                    }
                    macElement.setAttribute("address", mac);
                    break;      // the server has one address: it goes to the first interface
                }
            }
        }
        return serialize(doc);
    }

    /** A minimal domain for a template given as vcpus/memory/imageId/name. */
    public static String generate(String name, String uuid, long memoryKb, int vcpus, String imageId, String mac) {
        Document doc = newBuilder().newDocument();
        Element domain = doc.createElement("domain");
        domain.setAttribute("type", "kvm");
        doc.appendChild(domain);
        append(doc, domain, "name", name);
        append(doc, domain, "uuid", uuid);
        append(doc, domain, "memory", Long.toString(memoryKb));
        append(doc, domain, "currentMemory", Long.toString(memoryKb));
        append(doc, domain, "vcpu", Integer.toString(vcpus));
        Element os = doc.createElement("os");
        domain.appendChild(os);
        Element osType = append(doc, os, "type", "hvm");
        osType.setAttribute("arch", "x86_64");
        Element devices = doc.createElement("devices");
        domain.appendChild(devices);
        if (imageId != null) {
            Element disk = doc.createElement("disk");
            disk.setAttribute("type", "file");
            disk.setAttribute("device", "disk");
            devices.appendChild(disk);
            Element source = doc.createElement("source");
            source.setAttribute("file", "image:" + imageId);
            disk.appendChild(source);
            Element target = doc.createElement("target");
            target.setAttribute("dev", "vda");
            target.setAttribute("bus", "virtio");
            disk.appendChild(target);
        }
        Element nic = doc.createElement("interface");
        nic.setAttribute("type", "bridge");
        devices.appendChild(nic);
        if (mac != null) {
            Element macElement = doc.createElement("mac");
            macElement.setAttribute("address", mac);
            nic.appendChild(macElement);
        }
        return serialize(doc);
    }

    private static Element append(Document doc, Element parent, String tag, String text) {
        Element element = doc.createElement(tag);
        element.setTextContent(text);
        parent.appendChild(element);
        return element;
    }

    private static LibvirtDomain.Disk disk(Element disk) {
        String type = disk.getAttribute("type").isEmpty() ? "file" : disk.getAttribute("type");
        String device = disk.getAttribute("device").isEmpty() ? "disk" : disk.getAttribute("device");
        if (!DISK_TYPES.contains(type)) {
            throw invalid("disk type '%s' is not supported (file or block)", type);
        }
        if (!DISK_DEVICES.contains(device)) {
            throw invalid("disk device '%s' is not supported (disk or cdrom)", device);
        }
        Element source = child(disk, "source");
        String path = source == null ? null : source.getAttribute(type.equals("block") ? "dev" : "file");
        Element driver = child(disk, "driver");
        Element target = child(disk, "target");
        if (target == null || target.getAttribute("dev").isEmpty()) {
            throw invalid("a <disk> needs <target dev=…>");
        }
        return new LibvirtDomain.Disk(device, path == null || path.isEmpty() ? null : path,
                driver == null || driver.getAttribute("type").isEmpty() ? "raw" : driver.getAttribute("type"),
                target.getAttribute("dev"), target.getAttribute("bus").isEmpty() ? null : target.getAttribute("bus"));
    }

    private static LibvirtDomain.NetInterface netInterface(Element nic) {
        String type = nic.getAttribute("type");
        if (!INTERFACE_TYPES.contains(type)) {
            throw invalid("interface type '%s' is not supported (bridge, network, user or ethernet)", type);
        }
        Element mac = child(nic, "mac");
        Element source = child(nic, "source");
        Element model = child(nic, "model");
        String attached = source == null ? null : firstNonEmpty(source.getAttribute("bridge"), source.getAttribute("network"));
        return new LibvirtDomain.NetInterface(type, mac == null ? null : mac.getAttribute("address"), attached,
                model == null ? null : model.getAttribute("type"));
    }

    private static String firstNonEmpty(String a, String b) {
        return !a.isEmpty() ? a : !b.isEmpty() ? b : null;
    }

    private static long kibibytes(Element memory) {
        long value;
        try {
            value = Long.parseLong(memory.getTextContent().strip());
        } catch (NumberFormatException e) {
            throw invalid("<memory> '%s' is not a number", memory.getTextContent().strip());
        }
        String unit = memory.getAttribute("unit").isEmpty() ? "KiB" : memory.getAttribute("unit");
        long bytesPerUnit = switch (unit.toLowerCase(Locale.ROOT)) {
            case "b", "bytes" -> 1;
            case "kb" -> 1000;
            case "k", "kib" -> 1024;
            case "mb" -> 1000_000;
            case "m", "mib" -> 1024L * 1024;
            case "gb" -> 1000_000_000;
            case "g", "gib" -> 1024L * 1024 * 1024;
            default -> throw invalid("<memory unit='%s'> is not a known unit", unit);
        };
        return Math.multiplyExact(value, bytesPerUnit) / 1024;
    }

    private static int positiveInt(String text, String what) {
        try {
            int value = Integer.parseInt(text.strip());
            if (value > 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw invalid("<%s> '%s' is not a positive integer", what, text);
    }

    private static String requiredText(Element parent, String tag) {
        String text = optionalText(parent, tag);
        if (text == null) {
            throw invalid("<%s> is missing", tag);
        }
        return text;
    }

    private static String optionalText(Element parent, String tag) {
        Element element = child(parent, tag);
        if (element == null || element.getTextContent().isBlank()) {
            return null;
        }
        return element.getTextContent().strip();
    }

    private static Element child(Element parent, String tag) {
        for (Element child : children(parent)) {
            if (child.getTagName().equals(tag)) {
                return child;
            }
        }
        return null;
    }

    private static List<Element> children(Element parent) {
        List<Element> elements = new ArrayList<>();
        for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element element) {
                elements.add(element);
            }
        }
        return elements;
    }

    private static Document document(String xml) {
        if (xml == null || xml.isBlank()) {
            throw invalid("the template is empty");
        }
        try {
            return newBuilder().parse(new InputSource(new StringReader(xml)));
        } catch (SAXException e) {
            throw invalid("not well-formed XML: %s", e.getMessage());
        } catch (IOException e) {
            throw invalid("unreadable: %s", e.getMessage());
        }
    }

    private static DocumentBuilder newBuilder() {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setXIncludeAware(false);
            factory.setExpandEntityReferences(false);
            DocumentBuilder builder = factory.newDocumentBuilder();
            builder.setErrorHandler(null);
            return builder;
        } catch (ParserConfigurationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String serialize(Document doc) {
        try {
            TransformerFactory factory = TransformerFactory.newInstance();
            factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
            factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_STYLESHEET, "");
            Transformer transformer = factory.newTransformer();
            transformer.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
            transformer.setOutputProperty(OutputKeys.STANDALONE, "no");
            StringWriter out = new StringWriter();
            transformer.transform(new DOMSource(doc), new StreamResult(out));
            return out.toString();
        } catch (TransformerException e) {
            throw new IllegalStateException(e);
        }
    }

    private static CloudException invalid(String format, Object... args) {
        return CloudException.badRequest("UNABLE_TO_PARSE_VIRTUAL_MACHINE_TEMPLATE: libVirtTemplate: " + format, args);
    }
}
